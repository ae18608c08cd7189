"""Run a script (argv[1:]) and print, at exit, every operator it called while a Python context
override (`bpy.context.temp_override`) was in force: `OPERATORS UNDER OVERRIDE: [...]` as JSON."""

import atexit
import json
import runpy
import sys

import bpy
import bpy.ops

_depth = [0]
_called_under_override: list[str] = []
_temp_override = bpy.types.Context.temp_override
_op_call = bpy.ops._op_call


class _Counted:
    def __init__(self, inner):
        self._inner = inner

    def __enter__(self):
        _depth[0] += 1
        return self._inner.__enter__()

    def __exit__(self, *exc):
        _depth[0] -= 1
        return self._inner.__exit__(*exc)


def _counting_override(context, *args, **kwargs):
    return _Counted(_temp_override(context, *args, **kwargs))


def _noting_call(name, *args):
    if _depth[0]:
        _called_under_override.append(name)
    return _op_call(name, *args)


def _report_and_restore() -> None:
    print("OPERATORS UNDER OVERRIDE:", json.dumps(sorted(set(_called_under_override))), flush=True)
    # The 4.2 wheel crashes at exit with a Python function left on Context.
    bpy.types.Context.temp_override = _temp_override
    bpy.ops._op_call = _op_call


bpy.types.Context.temp_override = _counting_override
bpy.ops._op_call = _noting_call
atexit.register(_report_and_restore)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")

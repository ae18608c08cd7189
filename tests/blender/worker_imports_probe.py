"""Run a script (argv[1:]) and print, at exit, every module a thread other than the main one
imported for the first time: `WORKER IMPORTS: [...]` as JSON."""

import atexit
import json
import runpy
import sys
import threading

_imported_by_workers: list[str] = []


def _audit(event: str, arguments: tuple) -> None:
    on_worker = threading.current_thread() is not threading.main_thread()
    if event == "import" and on_worker and arguments[0] not in sys.modules:
        _imported_by_workers.append(arguments[0])


sys.addaudithook(_audit)
atexit.register(lambda: print("WORKER IMPORTS:", json.dumps(sorted(set(_imported_by_workers))), flush=True))
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")

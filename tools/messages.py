"""Write docs/troubleshooting.md from the messages the extension shows, so the page cannot drift.

The messages are read from the source with `ast` (nothing is imported): every error of the
add-on's own classes built with a literal message (`raise SomeError(f"...")`, also when the
class's `__init__` wraps the message in a sentence of its own), and every literal given to an
operator's `report(...)`. Placeholders of f-strings show as `…`. Each message is grouped under
its error code (reports under "reports") and gets the first matching "what to do" line from
ADVICE (tools/troubleshooting_advice.py), the only hand-written part.

    python tools/messages.py           # rewrite docs/troubleshooting.md
    python tools/messages.py --check   # exit 1 if the page is out of date with the code
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from troubleshooting_advice import ADVICE  # tools/ is on sys.path when this runs as a script

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [ROOT / "veo_addon", ROOT / "scripts" / "veo_generate.py"]
PAGE = ROOT / "docs" / "troubleshooting.md"
PLACEHOLDER = "…"
REPORTS = "reports"
SCRIPT = "headless script"


@dataclass(frozen=True)
class Message:
    text: str
    group: str  # the error code, or REPORTS
    module: str  # path from the repository root


@dataclass
class ErrorClass:
    name: str
    bases: list[str]
    code: str | None
    template: ast.expr | None  # what its __init__ passes up as the message
    params: list[str]


def render(node: ast.AST, names: dict[str, str] | None = None) -> str | None:
    """The literal text of a string expression with `…` for its placeholders; None if not literal."""
    names = names or {}
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            elif isinstance(value, ast.FormattedValue) and isinstance(value.value, ast.Name):
                parts.append(names.get(value.value.id, PLACEHOLDER))
            else:
                parts.append(PLACEHOLDER)
        return "".join(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = render(node.left, names), render(node.right, names)
        return None if left is None or right is None else left + right
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "replace":
        return render(node.func.value, names)  # a tidy-up of a literal message
    if isinstance(node, ast.Name) and node.id in names:
        return names[node.id]
    return None


def _callee(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def _init_template(cls: ast.ClassDef) -> tuple[ast.expr | None, list[str]]:
    for item in cls.body:
        if isinstance(item, ast.FunctionDef) and item.name == "__init__":
            params = [arg.arg for arg in item.args.args[1:]]
            for node in ast.walk(item):
                if isinstance(node, ast.Call) and _callee(node) == "__init__" and node.args:
                    # super().__init__(msg) or Base.__init__(self, msg)
                    first = node.args[1] if isinstance(node.func.value, ast.Name) else node.args[0]  # type: ignore[union-attr]
                    return first, params
            return None, params
    return None, []


def error_classes(trees: dict[str, ast.Module]) -> dict[str, ErrorClass]:
    found: dict[str, ErrorClass] = {}
    for tree in trees.values():
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            code = None
            for item in node.body:
                if (
                    isinstance(item, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == "code" for t in item.targets)
                    and isinstance(item.value, ast.Constant)
                ):
                    code = str(item.value.value)
            template, params = _init_template(node)
            bases = [b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases]
            found[node.name] = ErrorClass(node.name, bases, code, template, params)
    # Only the add-on's own errors: VeoError and what derives from it.
    ours: dict[str, ErrorClass] = {"VeoError": found["VeoError"]}
    changed = True
    while changed:
        changed = False
        for name, cls in found.items():
            if name not in ours and any(base in ours for base in cls.bases):
                ours[name] = cls
                changed = True
    return ours


def _resolve(cls: ErrorClass, classes: dict[str, ErrorClass], field: str) -> object:
    current: ErrorClass | None = cls
    while current is not None:
        value = getattr(current, field)
        if value is not None:
            return current
        current = next((classes[b] for b in current.bases if b in classes), None)
    return None


def error_message(call: ast.Call, cls: ErrorClass, classes: dict[str, ErrorClass]) -> str | None:
    owner = _resolve(cls, classes, "template")
    args = [render(arg) for arg in call.args]
    if not isinstance(owner, ErrorClass) or owner.template is None:
        return args[0] if args else None
    names = {
        param: (arg if arg is not None else PLACEHOLDER)
        for param, arg in zip(owner.params, args, strict=False)
    }
    text = render(owner.template, names)
    if text is None or text == PLACEHOLDER:
        return None
    return text


def _error_with_message(call: ast.Call, classes: dict[str, ErrorClass]) -> tuple[ErrorClass, str] | None:
    """`fail(job, SomeError(""), "the message")`: an error class handed over with its message beside it."""
    for index, arg in enumerate(call.args):
        if isinstance(arg, ast.Call) and _callee(arg) in classes and index + 1 < len(call.args):
            text = render(call.args[index + 1])
            if text:
                return classes[_callee(arg)], text  # type: ignore[index]
    return None


def code_of(cls: ErrorClass, classes: dict[str, ErrorClass]) -> str:
    owner = _resolve(cls, classes, "code")
    return owner.code if isinstance(owner, ErrorClass) and owner.code else "error"


def _is_script_message(call: ast.Call, name: str | None) -> bool:
    """The headless script's own lines: argparse errors, raised errors, and prints to stderr."""
    if name in ("error", "RuntimeError", "ArgumentTypeError"):
        return True
    return name == "print" and any(
        keyword.arg == "file" and ast.unparse(keyword.value) == "sys.stderr" for keyword in call.keywords
    )


def collect() -> list[Message]:
    files = [p for src in SOURCES for p in ([src] if src.is_file() else sorted(src.rglob("*.py")))]
    trees = {p.relative_to(ROOT).as_posix(): ast.parse(p.read_text(encoding="utf-8")) for p in files}
    classes = error_classes(trees)
    messages: set[Message] = set()
    for module, tree in trees.items():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _callee(node)
            text: str | None = None
            group = REPORTS
            if name in classes and name != "super":
                cls = classes[name]
                text = error_message(node, cls, classes)
                group = code_of(cls, classes)
            elif (wrapped := _error_with_message(node, classes)) is not None:
                cls, text = wrapped
                group = code_of(cls, classes)
            elif name == "report" and len(node.args) == 2:
                text = render(node.args[1])
            elif module.startswith("scripts/") and node.args and _is_script_message(node, name):
                text, group = render(node.args[0]), SCRIPT
            if text and text.strip(PLACEHOLDER + " :"):
                messages.add(Message(" ".join(text.split()), group, module))
    return sorted(messages, key=lambda m: (m.group, m.module, m.text))


def advice_for(text: str) -> str | None:
    for pattern, advice in ADVICE:
        if re.search(pattern, text):
            return advice
    return None


def unused_advice(messages: list[Message]) -> list[str]:
    used = set()
    for message in messages:
        for pattern, _ in ADVICE:
            if re.search(pattern, message.text):
                used.add(pattern)
                break
    return [pattern for pattern, _ in ADVICE if pattern not in used]


GENERATED_NOTE = (
    "<!-- GENERATED by tools/messages.py from the code (`make docs`); "
    "edit the advice in tools/troubleshooting_advice.py, not here. -->"
)

HEADER = f"""# Troubleshooting

{GENERATED_NOTE}

Every message the extension shows, word for word as it appears in Blender's status bar, the
Info editor or a headless run's output (`…` stands for a name, number or path that varies).
Search this page for the start of your message. When a message is refused *before* sending,
nothing was paid and nothing on the timeline changed.

Messages are grouped by the error code that a job stores (shown in its `[veo] FAILED` line and
the job list); lines the operators report directly are under "reports", and the command-line
mistakes of `scripts/veo_generate.py` under "headless script".
"""


def page(messages: list[Message]) -> str:
    lines = [HEADER]
    groups: dict[str, list[Message]] = {}
    for message in messages:
        groups.setdefault(message.group, []).append(message)
    for group in sorted(groups, key=lambda g: (g in (REPORTS, SCRIPT), g)):
        lines.append(f"## `{group}`\n")
        for message in groups[group]:
            lines.append(f"- **{_escape(message.text)}**  ")
            advice = advice_for(message.text)
            if advice:
                lines.append(f"  What to do: {advice}  ")
            lines.append(f"  <sub>{message.module}</sub>\n")
    return "\n".join(lines).rstrip() + "\n"


def _escape(text: str) -> str:
    return text.replace("*", "\\*").replace("_", "\\_").replace("<", "&lt;")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the page is out of date")
    args = parser.parse_args(argv)
    messages = collect()
    stale = unused_advice(messages)
    if stale:
        print(f"tools/messages.py: advice matching no message: {stale}", file=sys.stderr)
        return 1
    text = page(messages)
    if args.check:
        if not PAGE.exists() or PAGE.read_text(encoding="utf-8") != text:
            print("docs/troubleshooting.md is out of date with the code: run `make docs`", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(text, encoding="utf-8")
    advised = sum(1 for m in messages if advice_for(m.text))
    print(f"wrote {PAGE.relative_to(ROOT)}: {len(messages)} messages, {advised} with advice")
    return 0


if __name__ == "__main__":
    sys.exit(main())

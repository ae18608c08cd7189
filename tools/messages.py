"""Write docs/troubleshooting.md from the messages the extension shows, so the page cannot drift.

The messages are read from the source with `ast` (nothing is imported): every error of the
add-on's own classes built with a literal message (`raise SomeError(f"...")`, also when the
class's `__init__` wraps the message in a sentence of its own), and every literal given to an
operator's `report(...)`. Placeholders of f-strings show as `…`. Each message is grouped under
its error code (reports under "reports") and gets the first matching "what to do" line from
ADVICE below, which is the only hand-written part.

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

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [ROOT / "veo_addon", ROOT / "scripts" / "veo_generate.py"]
PAGE = ROOT / "docs" / "troubleshooting.md"
PLACEHOLDER = "…"
REPORTS = "reports"
SCRIPT = "headless script"

# (pattern searched in the message, what to do). First match wins; every pattern must match
# at least one message (a stale one fails --check).
ADVICE: list[tuple[str, str]] = [
    (
        r"^No API key",
        "Paste the key in Edit > Preferences > Add-ons > Veo Transitions > API Key, "
        "or set `VEO_API_KEY` before starting Blender.",
    ),
    (
        r"API key",
        "Copy the key again from your Highway account into the API Key preference (or "
        "`VEO_API_KEY`); check that it is active. Nothing was paid.",
    ),
    (
        r"^Online access is off",
        "Allow Blender online: Edit > Preferences > System > Network > "
        "Allow Online Access, or start it with `--online-mode`. Nothing was sent.",
    ),
    (r"no balance left", "Top up the Highway account, then generate again."),
    (
        r"is muted, so the render|on muted channel",
        "Unmute the strip (or its channel), or take "
        "that keyframe from a File or the Strip source. Nothing was sent.",
    ),
    (
        r"shows missing media",
        "Relink the strip's file (File > External Data > Find Missing Files) "
        "or take that keyframe from a File. Nothing was sent.",
    ),
    (
        r"sound strips have no picture|no picture to take a keyframe",
        "Pick the picture strips on "
        "either side of the gap (a sound strip has no frame to send), or use `--left`/`--right`.",
    ),
    (
        r"is shorter than the minimum",
        "Lengthen the gap, or lower the Minimum Gap preference (`--min-gap` headless). Nothing was sent.",
    ),
    (
        r"maximum stretch",
        "Shorten the gap, or raise the Maximum Stretch preference "
        "(`--max-stretch` headless). Nothing was sent.",
    ),
    (
        r"sound cannot follow a retimed",
        "Turn off Generate Audio, set Fit Clip to Trim, or make "
        "the gap as long as the clip. Nothing was sent.",
    ),
    (
        r"touch \(no gap",
        "Turn on Make Room (`--make-room`) to push the right side along, or move the strips apart.",
    ),
    (r"^Cannot make room", "Unlock that strip or channel, or move the shots apart and leave a gap."),
    (
        r"No free unlocked channel",
        "Free or unlock channels above the shots: the clip, its speed "
        "strip, its sound and each extra take need one each. Nothing was sent.",
    ),
    (
        r"^Select exactly two strips",
        "Select only the two strips around the gap, or deselect all and put the playhead inside the gap.",
    ),
    (
        r"put the playhead in a gap|is not in a gap",
        "Put the playhead inside the gap (not on a strip), or select the two strips around it.",
    ),
    (r"There is no gap between strips", "Leave an empty stretch between two shots first."),
    (r"overlap by", "Move the strips apart so that there is an empty stretch between them."),
    (
        r"clips folder|Cannot write clips",
        "Save the .blend in a folder you can write to; clips go into `veo_clips/` beside it.",
    ),
    (
        r"outcome is unknown|It was not sent again",
        "Check your Highway account for the task. If it "
        "was not billed (or you want another clip anyway), run again with New Generation (`--new`).",
    ),
    (
        r"is gone at the service|no longer known to the service",
        "The service dropped the task and "
        "its clip. Run again with New Generation (`--new`); that pays again.",
    ),
    (
        r"still being submitted",
        "Wait a moment and run again: the earlier identical request's clip will be reused at no charge.",
    ),
    (
        r"safety filters",
        "Change the prompt or keyframes (faces, people and brands are the usual cause) and generate again.",
    ),
    (r"^Task … failed", "The service could not make the clip; nothing to fetch. Try another prompt or seed."),
    (
        r"refused the request",
        "Read the service's reason at the end and change that setting. Nothing was paid.",
    ),
    (
        r"rate limiting",
        "Wait a minute; lower the Requests per Minute preference if it keeps "
        "happening (`VEO_REQUESTS_PER_MINUTE` headless).",
    ),
    (
        r"unavailable",
        "The service is down or overloaded. Try later; a job with a task id is kept: "
        "Resume Jobs finishes it.",
    ),
    (
        r"^Could not reach|^Could not get task|^Download of",
        "Check the internet connection and the "
        "Service URL, then run Resume Jobs: the task id is kept, nothing is paid twice.",
    ),
    (
        r"no answer came back",
        "The submit may have been charged. Check your account before "
        "generating again; only New Generation (`--new`) sends it again.",
    ),
    (r"has expired", "The clip can no longer be downloaded; run again with New Generation (`--new`)."),
    (
        r"base_url",
        "Use an `https://` Service URL (plain `http://` only for 127.0.0.1 / localhost), "
        "or leave it empty for the real service; check `VEO_BASE_URL`.",
    ),
    (r"URL must|http\(s\) (address|URL)", "Give an `http://` or `https://` address of the image."),
    (
        r"keyframe file '…' does not exist|keyframe file '…' is not a file",
        "Choose an existing PNG, JPEG, TIFF or WebP file for that keyframe.",
    ),
    (r"megapixels|or smaller|read up to", "Use a smaller keyframe image (scale it down)."),
    (
        r"cannot be decoded|is not a .* image|colour mode|is empty|not a readable image",
        "Re-save the image as PNG or JPEG and use that file.",
    ),
    (
        r"^seed|^Seed",
        "Use a seed from 0 to 2147483647, or -1 (headless: leave `--seed` out) for a random one.",
    ),
    (r"^prompt", "Write a prompt that describes the transition."),
    (r"1080p is offered with 8-second", "Choose 720p, or Duration 8 s (or Auto) for 1080p."),
    (
        r"^Job id|^No job|No job id given",
        "Give the job id from a `[veo]` line (its first 8 characters are enough).",
    ),
    (r"is not running", "Nothing to stop: the job already ended or runs in another Blender."),
    (r"^Save this file first", "Save the .blend (File > Save), then run the operator again."),
    (r"moved since the transition was chosen", "Run Generate Transition again on the gap as it is now."),
    (
        r"^Clip file|cannot read the clip|clip files of task",
        "The clip on disk is missing or damaged (moved, deleted, or its download cut short). Put it back "
        "into `veo_clips/` beside the .blend and run Resume Jobs; if it is lost, generate again.",
    ),
    (
        r"no longer on the timeline",
        "A strip around the gap was deleted or renamed while the clip was "
        "being made. Undo that (Ctrl-Z) or put the strip back, then run Resume Jobs.",
    ),
    (
        r"^No strip named|is not on the timeline",
        "Check the strip's name (it is case-sensitive) in the sequencer.",
    ),
    (r"^Name both strips", "Give both `left_strip` and `right_strip` (`--left` and `--right`), or neither."),
    (r"^Pick two different strips", "Name the strip before the gap and the one after it."),
    (r"^Stopped before anything was sent", "Nothing to do: nothing was paid. Run again when ready."),
    (
        r"^Stopped|^Download stopped",
        "You stopped waiting; the task id is kept. Resume Jobs "
        "(`--resume`) fetches the clip without paying again.",
    ),
    (
        r"is not known at",
        "Set the Service URL (or `VEO_BASE_URL`) back to the address the message "
        "names, then run Resume Jobs.",
    ),
    (r"^No unfinished job", "Nothing to do: every job of this file has ended."),
    (r"is already running", "Wait: that job is already being followed."),
    (
        r"^Inserting the clip failed",
        "Nothing was changed. Fix the cause the message names, then run "
        "Resume Jobs: the clip is downloaded already.",
    ),
    (r"^There is no take", "Use one of the take numbers the message lists."),
    (
        r"^Rendering frame",
        "Check that the sequencer preview shows a picture at that frame, or take the keyframe from a File.",
    ),
    (r"^Aspect ratio must be", "Choose Aspect Ratio auto, 16:9 or 9:16."),
    (r"^no file chosen", "Choose the keyframe file for that side (First/Last Frame File)."),
    (r"at most 20 MB|cannot be encoded under", "Use a smaller or simpler keyframe image."),
    (r"^veo_generate: …$", "The rest of the line is one of the messages on this page: look it up."),
    (r"^… ended …$", "The operator did not finish; the `[veo]` lines above say why."),
    (r"^--m(in-gap|ax-stretch) must", "Give `--min-gap` 0 or more seconds, `--max-stretch` 1 or more."),
    (r"^veo_generate: no such \.blend", "Check the path given to `--blend`."),
    (r"--scene: no scene", "Use one of the scene names the message lists (case-sensitive)."),
    (r"--prompt is required", 'Add `--prompt "..."` (only `--resume` alone needs none).'),
    (r"takes no --left/--right", "Use either `--all-gaps` or `--left`/`--right`, not both."),
    (r"^name both strips", "Give both `--left` and `--right`, or neither."),
    (r"-source … needs", "Add the file or URL flag the message names."),
    (r"--save has no path", "Save the .blend once by hand, or leave out `--save`."),
    (r"is not allowed; use one of|is out of range; use", "Use one of the values the message lists."),
]


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


HEADER = """# Troubleshooting

<!-- GENERATED by tools/messages.py from the code (`make docs`); edit the advice there, not here. -->

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

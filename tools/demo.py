"""`make demo`: one transition end to end on the local server, with a picture to look at.

1. Starts the local Highway server (`python -m localserver`, any free port, short generation).
2. Builds a small edit: two visibly different 2 s shots at 25 fps, 1280x720, with a 3.6 s gap;
   saves it as demo/out/edit.blend and copies it to demo/out/demo.blend.
3. Runs the documented headless script (scripts/veo_generate.py) on demo.blend in a separate
   process, through the real client and the add-on's operator, with `--save`.
4. Opens the saved demo.blend, renders the timeline around the gap, and writes
   demo/out/contact_sheet.png: the left shot's last frame, five frames of the generated clip
   as it plays in the gap, and the right shot's first frame, each labelled with its frame.

FAULTS in the environment reaches the server (see localserver/README.md), to watch a failure:
`FAULTS="submit=no_balance" make demo` ends with the service's message and exit status 1.

Runs with the blender50 venv's Python (the Makefile sees to that). No key and no internet:
the API key is an obvious dummy and every request stays on 127.0.0.1. Exit status 0 when
everything was made, 1 (with the reason) otherwise; the server is stopped either way.

`contact_sheet()` is plain Pillow, so it can be tested (and imported) without Blender.
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "demo" / "out"
SCRIPT = ROOT / "scripts" / "veo_generate.py"

FPS = 25
OUTPUT_SIZE = (1280, 720)
SHOT_FRAMES = 50  # 2 s each
GAP_FRAMES = 90  # 3.6 s: a 4 s clip, stretched a little to fit
LEFT_START = 1
RIGHT_START = LEFT_START + SHOT_FRAMES + GAP_FRAMES
GEN_SECONDS = 2  # the local server's pretend generation time
PROMPT = "The sun sets and the sky turns to a starry night, slow camera drift"
SEED = 42
DUMMY_API_KEY = "local-demo-key"
CLIP_FRAMES_SHOWN = 5
SERVER_START_TIMEOUT = 30.0


class DemoError(Exception):
    """A step failed; the message says which and why."""


def say(line: str) -> None:
    print(f"[demo] {line}", flush=True)


# --- the local server --------------------------------------------------------------------------


@contextmanager
def local_server(log_path: Path, gen_seconds: float = GEN_SECONDS) -> Iterator[str]:
    """`python -m localserver` on a free port; yields its base URL and always stops it."""
    environment = {**os.environ, "PORT": "0", "GEN_SECONDS": str(gen_seconds)}
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "localserver"],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        try:
            yield _read_base_url(server, log_path)
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _read_base_url(server: subprocess.Popen[str], log_path: Path) -> str:
    # readline() would block forever on a server that hangs before printing: read in a thread.
    lines: queue.Queue[str] = queue.Queue()
    output = server.stdout
    assert output is not None
    threading.Thread(target=lambda: lines.put(output.readline()), daemon=True).start()
    try:
        line = lines.get(timeout=SERVER_START_TIMEOUT).strip()
    except queue.Empty:
        raise DemoError(f"The local server printed no address within {SERVER_START_TIMEOUT:.0f} s") from None
    if not line.startswith("http://"):
        time.sleep(0.2)  # let it finish writing its reason to the log
        log_lines = log_path.read_text(errors="replace").strip().splitlines()
        reason = f": {log_lines[-1]}" if log_lines else ""
        raise DemoError(f"The local server did not start (exit {server.poll()}){reason}; log: {log_path}")
    return line


# --- the edit ----------------------------------------------------------------------------------


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def vertical_gradient(
    size: tuple[int, int], top: tuple[int, int, int], bottom: tuple[int, int, int]
) -> Image.Image:
    height = size[1]
    column = Image.new("RGB", (1, height))
    for y in range(height):
        share = y / (height - 1)
        column.putpixel((0, y), tuple(round(t + (b - t) * share) for t, b in zip(top, bottom, strict=True)))
    return column.resize(size)


def draw_hills(draw: ImageDraw.ImageDraw, size: tuple[int, int], fill: tuple[int, int, int]) -> None:
    """The same skyline in both shots, so the transition has something to hold on to."""
    width, height = size
    outline = [(0, 1.0), (0, 0.7), (0.35, 0.55), (0.7, 0.72), (1.0, 0.6), (1.0, 1.0)]
    draw.polygon([(width * x, height * y) for x, y in outline], fill=fill)


def sunset_shot(size: tuple[int, int] = OUTPUT_SIZE) -> Image.Image:
    """Shot A: a warm evening sky, a big sun over dark hills."""
    width, height = size
    image = vertical_gradient(size, (255, 170, 60), (200, 60, 90))
    draw = ImageDraw.Draw(image)
    draw.ellipse((width * 0.55, height * 0.25, width * 0.55 + 260, height * 0.25 + 260), fill=(255, 236, 150))
    draw_hills(draw, size, (70, 30, 50))
    draw.text((60, 50), "SHOT A  ·  evening", font=font(64), fill=(60, 20, 30))
    return image


def night_shot(size: tuple[int, int] = OUTPUT_SIZE) -> Image.Image:
    """Shot B: a cold night sky, a crescent moon, stars, the same hills in blue."""
    width, height = size
    image = vertical_gradient(size, (10, 20, 60), (30, 70, 130))
    draw = ImageDraw.Draw(image)
    for index in range(90):  # a fixed, irregular scatter: the same stars every run
        x = (index * 379) % width
        y = (index * 211) % int(height * 0.6)
        radius = 2 + index % 3
        draw.ellipse((x, y, x + radius, y + radius), fill=(235, 240, 255))
    draw.ellipse((220, 120, 420, 320), fill=(240, 240, 210))
    draw.ellipse((270, 100, 470, 300), fill=(14, 28, 72))
    draw_hills(draw, size, (8, 14, 34))
    draw.text((width - 560, 50), "SHOT B  ·  night", font=font(64), fill=(200, 220, 255))
    return image


def current_scene() -> Any:
    import bpy

    if bpy.context.scene is None:
        raise DemoError("Blender has no scene open")
    return bpy.context.scene


def build_edit(blend_path: Path) -> None:
    """Two image strips with a gap, at 25 fps and 1280x720, saved to `blend_path`."""
    import bpy

    sys.path.insert(0, str(ROOT))
    from veo_addon.blender import compat

    shots = blend_path.parent / "shots"
    shots.mkdir(parents=True, exist_ok=True)
    sunset_shot().save(shots / "shot_a_evening.png")
    night_shot().save(shots / "shot_b_night.png")

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = current_scene()
    scene.render.fps, scene.render.fps_base = FPS, 1.0
    scene.render.resolution_x, scene.render.resolution_y = OUTPUT_SIZE
    scene.render.resolution_percentage = 100
    # The factory view transform (AgX) would tint the shots; Standard shows them as drawn.
    scene.view_settings.view_transform = "Standard"
    editor = compat.sequence_editor(scene, create=True)
    strips = compat.strip_collection(editor)
    for name, filename, start in (
        ("Shot A", "shot_a_evening.png", LEFT_START),
        ("Shot B", "shot_b_night.png", RIGHT_START),
    ):
        strip = strips.new_image(name=name, filepath=str(shots / filename), channel=1, frame_start=start)
        compat.set_visible_duration(strip, SHOT_FRAMES)
    scene.frame_start, scene.frame_end = LEFT_START, RIGHT_START + SHOT_FRAMES - 1
    # The script's default target: the gap under the playhead.
    scene.frame_current = LEFT_START + SHOT_FRAMES + GAP_FRAMES // 2
    blend_path.parent.mkdir(parents=True, exist_ok=True)
    bpy.ops.wm.save_as_mainfile(filepath=str(blend_path))
    bpy.ops.file.make_paths_relative()  # the folder can be moved as a whole
    bpy.ops.wm.save_mainfile()


# --- the headless run --------------------------------------------------------------------------


def run_headless_script(blend_path: Path, base_url: str, user_dir: Path) -> None:
    environment = {
        **os.environ,
        "VEO_BASE_URL": base_url,
        "VEO_API_KEY": DUMMY_API_KEY,
        "VEO_USER_DIR": str(user_dir),
    }
    command = [
        sys.executable,
        str(SCRIPT),
        "--blend",
        str(blend_path),
        "--",
        "--prompt",
        PROMPT,
        "--seed",
        str(SEED),
        "--save",
    ]
    say(f"running {SCRIPT.relative_to(ROOT)} on {blend_path.relative_to(ROOT)}")
    finished = subprocess.run(command, cwd=ROOT, env=environment, check=False)
    if finished.returncode != 0:
        raise DemoError(f"The headless script failed (exit {finished.returncode}); its message is above")


# --- the result --------------------------------------------------------------------------------


@dataclass(frozen=True)
class InsertedClip:
    path: Path
    strip_name: str
    first_frame: int
    last_frame: int  # inclusive


@dataclass(frozen=True)
class Tile:
    label: str
    image: Image.Image


def find_inserted_clip(blend_path: Path) -> InsertedClip:
    """Open the saved file and find the movie strip the script inserted."""
    import bpy

    from veo_addon.blender import compat

    bpy.ops.wm.open_mainfile(filepath=str(blend_path))
    movies = [strip for strip in compat.top_level_strips(current_scene()) if strip.type == "MOVIE"]
    if len(movies) != 1:
        raise DemoError(f"{blend_path.name} holds {len(movies)} movie strips; expected the one clip")
    movie: Any = movies[0]
    return InsertedClip(
        path=Path(bpy.path.abspath(movie.filepath)).resolve(),
        strip_name=movie.name,
        first_frame=compat.visible_start(movie),
        last_frame=compat.visible_end(movie) - 1,
    )


def evenly_spaced(first: int, last: int, count: int) -> list[int]:
    if count == 1 or first == last:
        return [first]
    return [round(first + (last - first) * index / (count - 1)) for index in range(count)]


def render_timeline_frames(frames: Sequence[int]) -> dict[int, Image.Image]:
    """The sequencer's output at each frame of the open file, as it plays."""
    import io

    from veo_addon.blender import capture

    scene = current_scene()
    return {
        frame: Image.open(io.BytesIO(capture.render_frame(scene, frame))).convert("RGB") for frame in frames
    }


def contact_sheet(
    tiles: Sequence[Tile], title: str = "", columns: int = 4, tile_width: int = 400
) -> Image.Image:
    """A grid of labelled thumbnails (Pillow only): label under each picture, title on top."""
    if not tiles:
        raise ValueError("a contact sheet needs at least one picture")
    first = tiles[0].image
    tile_height = round(tile_width * first.height / first.width)
    margin, label_height = 16, 34
    title_height = 56 if title else 0
    columns = min(columns, len(tiles))
    rows = -(-len(tiles) // columns)
    width = margin + columns * (tile_width + margin)
    height = title_height + margin + rows * (tile_height + label_height + margin)
    sheet = Image.new("RGB", (width, height), (28, 28, 32))
    draw = ImageDraw.Draw(sheet)
    if title:
        draw.text((margin, margin), title, font=font(26), fill=(235, 235, 235))
    for index, tile in enumerate(tiles):
        row, column = divmod(index, columns)
        x = margin + column * (tile_width + margin)
        y = title_height + margin + row * (tile_height + label_height + margin)
        sheet.paste(
            tile.image.convert("RGB").resize((tile_width, tile_height), Image.Resampling.LANCZOS), (x, y)
        )
        draw.text((x, y + tile_height + 6), tile.label, font=font(20), fill=(235, 235, 235))
    return sheet


def sheet_tiles(
    clip: InsertedClip, rendered: dict[int, Image.Image], clip_frames: Sequence[int]
) -> list[Tile]:
    left_last, right_first = clip.first_frame - 1, clip.last_frame + 1
    tiles = [Tile(f"frame {left_last} · Shot A, last frame", rendered[left_last])]
    tiles += [Tile(f"frame {frame} · Veo clip", rendered[frame]) for frame in clip_frames]
    tiles.append(Tile(f"frame {right_first} · Shot B, first frame", rendered[right_first]))
    return tiles


# --- the whole demo ----------------------------------------------------------------------------


def run_demo() -> None:
    started = time.monotonic()
    shutil.rmtree(OUT, ignore_errors=True)  # a fresh run every time: no journal, no earlier clip
    OUT.mkdir(parents=True)
    edit_path, demo_path = OUT / "edit.blend", OUT / "demo.blend"

    say("building the edit: two 2 s shots at 25 fps, 1280x720, a 3.6 s gap between them")
    build_edit(edit_path)
    shutil.copyfile(edit_path, demo_path)

    with local_server(OUT / "server.log") as base_url:
        say(f"local server at {base_url} (generation takes {GEN_SECONDS} s)")
        run_headless_script(demo_path, base_url, OUT / "user")

    clip = find_inserted_clip(demo_path)
    if not clip.path.is_file():
        raise DemoError(f"The inserted strip points at {clip.path}, which does not exist")
    clip_frames = evenly_spaced(clip.first_frame, clip.last_frame, CLIP_FRAMES_SHOWN)
    say(f"rendering timeline frames {clip.first_frame - 1}, {clip_frames}, {clip.last_frame + 1}")
    rendered = render_timeline_frames([clip.first_frame - 1, *clip_frames, clip.last_frame + 1])
    sheet = contact_sheet(
        sheet_tiles(clip, rendered, clip_frames),
        title=f'demo.blend at {FPS} fps · prompt: "{PROMPT}" · seed {SEED}',
    )
    sheet_path = OUT / "contact_sheet.png"
    sheet.save(sheet_path)

    say(f"done in {time.monotonic() - started:.1f} s")
    say(f"edit (before):  {edit_path}")
    frames = f"frames {clip.first_frame}-{clip.last_frame}"
    say(f"edit (after):   {demo_path}  (strip '{clip.strip_name}', {frames})")
    say(f"clip:           {clip.path}")
    say(f"contact sheet:  {sheet_path}")
    say(f"server log:     {OUT / 'server.log'}")


def main() -> int:
    try:
        run_demo()
    except DemoError as error:
        print(f"[demo] FAILED: {error}", file=sys.stderr, flush=True)
        return 1
    except Exception as error:  # any other surprise still ends in a clear line and exit 1
        traceback.print_exc()
        print(f"[demo] FAILED: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Window tests: Debian's Blender 4.3 in a real (Xvfb) window, inside a chroot.

They need root and the environment `tools/window_env.py` builds (see docs/testing.md), and
they run on the host with a plain Python (never inside the bpy wheel): `make test-window`,
which sets VEO_WINDOW_TESTS=1. Any other pytest run leaves this folder out, so the bpy
runs do not pick it up; run without that variable, this folder collects nothing (pytest
then exits 5, "no tests ran").
"""

from __future__ import annotations

import os

collect_ignore_glob = [] if os.environ.get("VEO_WINDOW_TESTS") == "1" else ["*.py"]

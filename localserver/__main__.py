"""`python -m localserver`: run the local Highway server in the foreground until Ctrl-C.

Environment: PORT (default 8765), GEN_SECONDS (default 5), FAULTS (see README.md), API_KEY (optional:
when set, any other key is refused with 403 INVALID_API_KEY), TTL_SECONDS (default 3600),
BASE64_FORM (any | data_uri | bare), LOG_LEVEL (default INFO), REQUESTS_PER_MINUTE (optional: API
requests over this many a minute get 429), CLIP_BYTES (optional: pad every clip to this size).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading

from .faults import FaultSpecError
from .http_server import LocalHighway


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    # Stop cleanly on Ctrl-C and on `kill`, even when started in the background (SIGINT ignored there).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    try:
        highway = LocalHighway(
            gen_seconds=float(os.environ.get("GEN_SECONDS", "5")),
            port=int(os.environ.get("PORT", "8765")),
            ttl_seconds=float(os.environ.get("TTL_SECONDS", "3600")),
            api_key=os.environ.get("API_KEY") or None,
            base64_form=os.environ.get("BASE64_FORM", "any"),
            requests_per_minute=int(os.environ["REQUESTS_PER_MINUTE"])
            if os.environ.get("REQUESTS_PER_MINUTE")
            else None,
            clip_bytes=int(os.environ["CLIP_BYTES"]) if os.environ.get("CLIP_BYTES") else None,
        )
        faults = os.environ.get("FAULTS", "")
        if faults.strip():
            highway.faults.add_spec(faults)
    except (ValueError, FaultSpecError) as exc:
        print(f"localserver: {exc}", file=sys.stderr)
        return 2
    try:
        highway.start()
    except OSError as exc:
        print(f"localserver: cannot listen on port {highway.port}: {exc}", file=sys.stderr)
        return 1
    # The one line on stdout: scripts read the base URL from it.
    print(highway.base_url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        highway.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

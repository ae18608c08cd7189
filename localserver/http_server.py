"""The HTTP side of the local server: URL routing, fault delivery on the wire, and `LocalHighway`.

`LocalHighway` is the simulated service (`service.HighwayService`) listening on a loopback port. It
runs `http.server.ThreadingHTTPServer` in a background thread, so a slow request (a latency fault, a
large download) never holds up another one. The handler maps a request to one public service call;
how the answer then reaches the client (whole, cut short, reset, garbled) is decided here.
"""

from __future__ import annotations

import json
import logging
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .faults import DELIVERY_KINDS, REFUSING_KINDS, TASK_KINDS, Fault, FaultSpecError
from .responses import Response, error_response, fault_response, json_response, other_range
from .result_body import MODEL
from .service import HighwayService

logger = logging.getLogger("localserver")

SUBMIT_PATH = f"/v3/async/{MODEL}"
RESULT_PATH = "/v3/async/task-result"
FILES_PREFIX = "/files/"
CONTROL_PREFIX = "/_control/"
# Two 20 MB images as Base64 plus the other fields fit well below this.
MAX_BODY_BYTES = 64 * 1024 * 1024


class LocalHighway(HighwayService):
    """The local Highway API server. Use as a context manager or with start()/stop()."""

    def __init__(
        self,
        gen_seconds: float = 3.0,
        port: int = 0,
        ttl_seconds: float = 3600,
        api_key: str | None = None,
        host: str = "127.0.0.1",
        **service_options: Any,
    ) -> None:
        """`service_options`: the keyword-only settings of `HighwayService` (base64_form, ttl_as, ...)."""
        super().__init__(gen_seconds, ttl_seconds, api_key, **service_options)
        self.host = host
        self.port = port
        self._httpd: _HighwayHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> LocalHighway:
        if self._httpd is not None:
            return self
        self.open()
        self._httpd = _HighwayHTTPServer((self.host, self.port), _Handler, self)
        self.port = self._httpd.server_address[1]
        # A short poll interval: stop() waits for the loop to notice, and tests stop a server each.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="highway-http", daemon=True
        )
        self._thread.start()
        logger.info("local Highway server listening on %s", self.base_url)
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self.close()  # first: wakes handlers sleeping in a latency fault
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> LocalHighway:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def submit_url(self) -> str:
        return self.base_url + SUBMIT_PATH

    def stats(self) -> dict[str, Any]:
        # The process's CPU time: the bench weighs what serving a file costs the machine it shares.
        return {"base_url": self.base_url, "process_cpu_seconds": time.process_time(), **super().stats()}


class _HighwayHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], highway: LocalHighway
    ):
        self.highway = highway
        super().__init__(address, handler)


def _endpoint(path: str) -> str:
    """Which endpoint a path belongs to: what faults target and request counts are kept by."""
    if path == SUBMIT_PATH:
        return "submit"
    if path == RESULT_PATH:
        return "result"
    if path.startswith(FILES_PREFIX):
        return "download"
    if path.startswith(CONTROL_PREFIX):
        return "control"
    return "other"


def _refusal(faults: list[Fault]) -> Response | None:
    """The answer of the first refusing fault (one that answers before any work is done)."""
    for fault in faults:
        if fault.kind not in REFUSING_KINDS or fault.param("after_create"):
            continue
        return fault_response(fault)
    return None


def _control(highway: LocalHighway, method: str, path: str, raw_body: bytes) -> Response:
    """The test-harness endpoints under /_control/: stats and the fault plan (no auth)."""
    body: Any = None
    if raw_body:
        try:
            body = json.loads(raw_body)
        except ValueError:
            return error_response(400, "INVALID_REQUEST_BODY", "control body is not valid JSON")
    name = path[len(CONTROL_PREFIX) :].strip("/")
    if name == "stats" and method == "GET":
        return json_response(200, highway.stats())
    if name == "faults":
        if method == "GET":
            return json_response(200, {"faults": highway.faults.describe()})
        if method == "DELETE":
            highway.faults.clear()
            return json_response(200, {"faults": []})
        if method == "POST":
            try:
                highway.faults.add_objects(body)
            except (FaultSpecError, TypeError, ValueError) as exc:
                return error_response(400, "INVALID_REQUEST_BODY", str(exc))
            return json_response(200, {"faults": highway.faults.describe()})
    return error_response(404, "NOT_FOUND", f"no control endpoint {method} {path}")


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 keep-alive, as httpx uses: every answer carries Content-Length.
    protocol_version = "HTTP/1.1"
    server: _HighwayHTTPServer

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    # Only the request line is logged (never headers, so never the Authorization key).
    def log_message(self, format: str, *args: Any) -> None:
        logger.info("%s %s", self.address_string(), format % args)

    def _read_body(self) -> bytes | None:
        length_text = self.headers.get("Content-Length")
        if not length_text:
            return b""
        try:
            length = int(length_text)
        except ValueError:
            return None
        if length < 0 or length > MAX_BODY_BYTES:
            return None
        return self.rfile.read(length)

    def _dispatch(self, method: str) -> None:
        highway = self.server.highway
        url = urlsplit(self.path)
        endpoint = _endpoint(url.path)
        number = highway.count_request(endpoint)
        faults = (
            highway.faults.matching(endpoint, number) if endpoint in ("submit", "result", "download") else []
        )
        if any(fault.kind == "reset" and fault.param("at") == "request" for fault in faults):
            # The connection breaks before the request was read: the service saw nothing.
            self._abort_connection()
            return
        # Read the body first: on a kept-alive connection unread bytes would become the next request.
        raw_body = self._read_body()
        if raw_body is None:
            self.close_connection = True
            self._send(
                error_response(413, "INVALID_REQUEST_BODY", "missing, bad or too large Content-Length")
            )
            return
        if endpoint == "download":
            highway.record_download_headers(dict(self.headers.items()))

        for fault in faults:
            if fault.kind == "latency":
                highway.pause(float(fault.param("seconds")))
        body: Any = highway.record_submit_body(raw_body) if (endpoint, method) == ("submit", "POST") else None
        response = _refusal(faults)
        if response is None and endpoint in ("submit", "result"):
            response = highway.admit_api_request()
        if response is None:
            response = self._handle(highway, method, endpoint, url.path, url.query, raw_body, body, faults)
        delivery = next((fault for fault in faults if fault.kind in DELIVERY_KINDS), None)
        self._send(response, delivery, head_only=method == "HEAD")

    def _handle(
        self,
        highway: LocalHighway,
        method: str,
        endpoint: str,
        path: str,
        query: str,
        raw_body: bytes,
        body: Any,
        faults: list[Fault],
    ) -> Response:
        task_faults = [fault for fault in faults if fault.kind in TASK_KINDS]
        if endpoint == "control":
            return _control(highway, method, path, raw_body)
        if endpoint == "download":
            if method not in ("GET", "HEAD"):
                return error_response(405, "METHOD_NOT_ALLOWED", f"{method} not allowed here")
            # Like a signed storage URL, the token in the path is the credential: no Authorization needed.
            token, _, name = path[len(FILES_PREFIX) :].partition("/")
            range_header = self.headers.get("Range")
            for fault in faults:
                if fault.kind == "other_range":
                    range_header = other_range(fault, range_header)
            return highway.download(token, name, range_header)
        if endpoint == "other":
            return error_response(404, "NOT_FOUND", f"no such path {path}")
        expected = "POST" if endpoint == "submit" else "GET"
        if method != expected:
            return error_response(
                405, "METHOD_NOT_ALLOWED", f"{method} not allowed on {path}; use {expected}"
            )
        refused = highway.check_auth(self.headers.get("Authorization"))
        if refused is not None:
            return refused
        if endpoint == "result":
            task_id = (parse_qs(query).get("task_id") or [""])[0]
            return highway.result(task_id, task_faults, files_url=highway.base_url + FILES_PREFIX)
        response, task = highway.submit(self.headers.get("Content-Type"), body, task_faults)
        late_error = next((f for f in faults if f.kind in ("500", "503") and f.param("after_create")), None)
        if task is not None and late_error is not None:
            # The task exists (and would be billed), yet the client only sees an error.
            return fault_response(late_error)
        return response

    def _send(self, response: Response, delivery: Fault | None = None, head_only: bool = False) -> None:
        body = response.body
        if delivery is not None and delivery.kind == "malformed":
            # A 200 whose body is not what the client expects: cut-off JSON, or an HTML page for a file.
            if response.content_type == "application/json":
                response = Response(200, b'{"task": {"task_id": "\x00 not json', "application/json")
            else:
                response = Response(
                    200, b"<html><body>Service temporarily unavailable</body></html>", "text/html"
                )
            body = response.body
        reset_at = delivery.param("at") if delivery is not None and delivery.kind == "reset" else None
        if reset_at == "start":
            self._abort_connection()
            return
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        if delivery is not None or self.close_connection:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if head_only:
            return
        if reset_at is not None:
            if reset_at == "body":
                self.wfile.write(body[: len(body) // 2])
            self._abort_connection()
            return
        if delivery is not None and delivery.kind == "truncate":
            cut = delivery.param("bytes")
            cut = len(body) // 2 if cut is None else max(0, min(int(cut), len(body) - 1))
            # Full Content-Length was promised; the peer sees the connection end early.
            self.wfile.write(body[:cut])
            return
        self.wfile.write(body)

    def _abort_connection(self) -> None:
        """Close with a TCP reset (SO_LINGER 0), as a crashed proxy would."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.rfile.close()
        except OSError:
            pass

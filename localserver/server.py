"""A loopback HTTP server that speaks the Highway API (docs/../spec/HIGHWAY_API.md) and makes real MP4s.

Runs `http.server.ThreadingHTTPServer` in a background thread, so a slow request (a latency fault, a
large download) never holds up another one. Clips are encoded on a small worker pool when a task is
created; the task reports success once both its generation time has passed and its clips exist.
"""

from __future__ import annotations

import json
import logging
import math
import random
import secrets
import socket
import struct
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .faults import DELIVERY_KINDS, REFUSING_KINDS, TASK_KINDS, Fault, FaultPlan, FaultSpecError, make_fault
from .validation import BASE64_FORMS, PERSON_GENERATION, RequestRejected, SubmitParams, validate_submit
from .video import OUTPUT_SIZES, ClipSpec, EncodingCancelled, encode_clip, encode_wav

logger = logging.getLogger("localserver")

MODEL = "veo-3.1-generate-firstlastframe"
SUBMIT_PATH = f"/v3/async/{MODEL}"
RESULT_PATH = "/v3/async/task-result"
FILES_PREFIX = "/files/"
CONTROL_PREFIX = "/_control/"
# Two 20 MB images as Base64 plus the other fields fit well below this.
MAX_BODY_BYTES = 64 * 1024 * 1024

QUEUED = "TASK_STATUS_QUEUED"
PROCESSING = "TASK_STATUS_PROCESSING"
SUCCEED = "TASK_STATUS_SUCCEED"
FAILED = "TASK_STATUS_FAILED"

DEFAULT_SAFETY_REASON = (
    "The video could not be generated because the input images or prompt may violate "
    "the usage guidelines. Support codes: 58061214"
)


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status, json.dumps(payload).encode(), "application/json", dict(headers or {}))


def error_response(status: int, reason: str, message: str, headers: dict[str, str] | None = None) -> Response:
    """The provider family's error body: {"code", "reason", "message", "metadata"}."""
    payload = {"code": status, "reason": reason, "message": message, "metadata": {}}
    return json_response(status, payload, headers)


class HeaderDict(dict[str, str]):
    """Request headers keyed case-insensitively, as HTTP header names are."""

    def __init__(self, items: dict[str, str] | None = None) -> None:
        super().__init__({name.lower(): value for name, value in (items or {}).items()})

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and super().__contains__(name.lower())

    def get(self, name: str, default: Any = None) -> Any:
        return super().get(name.lower(), default)


@dataclass
class Task:
    """One generation. Its status is worked out from the clock, so polling never changes it."""

    task_id: str
    params: SubmitParams
    body: dict[str, Any]
    created_at: float  # time.monotonic()
    submit_time_ms: int  # wall clock, for extra.debug_info
    gen_seconds: float
    token: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    # Fate decided by task faults: "succeed", "safety", "unknown_status".
    fate: str = "succeed"
    fate_detail: str = ""
    keep_videos: int | None = None  # "filtered": how many of sample_count come back
    videos: list[bytes] = field(default_factory=list)
    audios: list[bytes] = field(default_factory=list)
    encode_error: str | None = None
    encoded_at: float | None = None  # time.monotonic() when every clip exists
    force_expired: bool = False
    gone: bool = False  # "gone": the service has forgotten the task (result and files 404)
    encoded: threading.Event = field(default_factory=threading.Event)

    @property
    def seed(self) -> int:
        return self.params.seed

    @property
    def queue_seconds(self) -> float:
        # QUEUED briefly before PROCESSING, as the real service does.
        return min(1.0, self.gen_seconds * 0.1)

    @property
    def video_count(self) -> int:
        count = self.params.sample_count
        return count if self.keep_videos is None else max(0, min(count, self.keep_videos))

    def completed_at(self) -> float | None:
        """Monotonic time the task reached its end state, or None while it is still running."""
        if self.encoded_at is None and self.fate == "succeed":
            return None
        finished = self.created_at + self.gen_seconds
        return finished if self.encoded_at is None else max(finished, self.encoded_at)

    def status_at(self, now: float) -> tuple[str, int, int, str]:
        """(status, progress_percent, eta_seconds, reason) at monotonic time `now`."""
        elapsed = now - self.created_at
        if elapsed < self.queue_seconds:
            return QUEUED, 0, math.ceil(self.gen_seconds), ""
        completed = self.completed_at()
        if completed is None or now < completed:
            span = max(self.gen_seconds - self.queue_seconds, 1e-6)
            progress = min(99, max(0, int(99 * (elapsed - self.queue_seconds) / span)))
            eta = max(1, math.ceil(self.gen_seconds - elapsed))
            return PROCESSING, progress, eta, ""
        if self.fate == "safety":
            return FAILED, 100, 0, self.fate_detail
        if self.fate == "unknown_status":
            return self.fate_detail, 100, 0, ""
        if self.encode_error is not None:
            return FAILED, 100, 0, f"internal error while generating: {self.encode_error}"
        return SUCCEED, 100, 0, ""

    @property
    def status(self) -> str:
        return self.status_at(time.monotonic())[0]

    def expired_at(self, now: float, ttl_seconds: float) -> bool:
        completed = self.completed_at()
        return self.force_expired or (completed is not None and now >= completed + ttl_seconds)


def _apply_task_fault(task: Task, fault: Fault) -> None:
    if fault.kind == "safety":
        task.fate = "safety"
        task.fate_detail = fault.param("reason") or DEFAULT_SAFETY_REASON
    elif fault.kind == "unknown_status":
        task.fate = "unknown_status"
        task.fate_detail = str(fault.param("status"))
    elif fault.kind == "gone":
        task.gone = True
    elif fault.kind == "filtered":
        keep = fault.param("keep")
        task.keep_videos = max(0, task.params.sample_count - 1) if keep is None else int(keep)


class LocalHighway:
    """The local Highway API server. Use as a context manager or with start()/stop()."""

    def __init__(
        self,
        gen_seconds: float = 3.0,
        port: int = 0,
        ttl_seconds: float = 3600,
        api_key: str | None = None,
        host: str = "127.0.0.1",
        *,
        base64_form: str = "any",
        allowed_person_generation: tuple[str, ...] = PERSON_GENERATION,
        ttl_as: str = "string",
        audio_entries: bool = False,
        encode_workers: int = 2,
    ) -> None:
        if base64_form not in BASE64_FORMS:
            raise ValueError(f"base64_form must be one of {BASE64_FORMS}")
        if ttl_as not in ("string", "integer"):
            raise ValueError("ttl_as must be 'string' or 'integer'")
        self.gen_seconds = gen_seconds
        self.ttl_seconds = ttl_seconds
        self.api_key = api_key
        self.host = host
        self.port = port
        # Which Base64 form of the images submit accepts: "any", only "data_uri", or only "bare".
        self.base64_form = base64_form
        self.allowed_person_generation = allowed_person_generation
        # The spec saw video_url_ttl both as "3600" and as 3600: both can be served.
        self.ttl_as = ttl_as
        # Also list a separate WAV per clip in `audios[]` when audio is generated (spec: inferred).
        self.audio_entries = audio_entries
        self.faults = FaultPlan()
        self._encode_workers = encode_workers
        self._lock = threading.Lock()
        self._tasks: dict[str, Task] = {}
        self._tasks_by_token: dict[str, Task] = {}
        self._submit_count = 0
        self._request_counts: dict[str, int] = {
            "submit": 0,
            "result": 0,
            "download": 0,
            "control": 0,
            "other": 0,
        }
        self._submit_bodies: list[Any] = []
        self._range_requests = 0
        self._last_download_headers = HeaderDict()
        self._stopping = threading.Event()
        self._httpd: _HighwayHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._seed_rng = random.SystemRandom()

    # ---- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> LocalHighway:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._executor = ThreadPoolExecutor(
            max_workers=self._encode_workers, thread_name_prefix="highway-encode"
        )
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
        self._stopping.set()  # wakes handlers sleeping in a latency fault
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        self._httpd = None
        self._thread = None
        self._executor = None

    def __enter__(self) -> LocalHighway:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ---- inspection --------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def submit_url(self) -> str:
        return self.base_url + SUBMIT_PATH

    @property
    def submit_count(self) -> int:
        """Submit requests that created a task (what the real service would bill)."""
        with self._lock:
            return self._submit_count

    @property
    def request_counts(self) -> dict[str, int]:
        """Every request received, per endpoint (submit, result, download, control, other)."""
        with self._lock:
            return dict(self._request_counts)

    @property
    def submit_bodies(self) -> list[Any]:
        """Every submit body received, parsed JSON (or the raw text if it was not JSON), in order."""
        with self._lock:
            return list(self._submit_bodies)

    @property
    def last_submit_body(self) -> Any:
        with self._lock:
            return self._submit_bodies[-1] if self._submit_bodies else None

    @property
    def range_requests(self) -> int:
        """Download requests that carried a Range header (a client resuming)."""
        with self._lock:
            return self._range_requests

    @property
    def last_download_headers(self) -> HeaderDict:
        """The last download request's headers (any case); an Authorization value is masked, not dropped."""
        with self._lock:
            return HeaderDict(self._last_download_headers)

    @property
    def tasks(self) -> dict[str, Task]:
        with self._lock:
            return dict(self._tasks)

    def task(self, task_id: str) -> Task:
        with self._lock:
            return self._tasks[task_id]

    def wait_for_task(self, task_id: str, timeout: float = 30.0) -> Task:
        """Block until the task reaches an end state (for tests that skip polling)."""
        task = self.task(task_id)
        deadline = time.monotonic() + timeout
        while task.status in (QUEUED, PROCESSING):
            if time.monotonic() > deadline:
                raise TimeoutError(f"task {task_id} still {task.status} after {timeout} s")
            time.sleep(0.05)
        return task

    def expire_urls(self, task_id: str | None = None) -> None:
        """Make the download URLs of one task (or of all tasks) expire now."""
        with self._lock:
            targets = [self._tasks[task_id]] if task_id else list(self._tasks.values())
        for task in targets:
            task.force_expired = True

    def stats(self) -> dict[str, Any]:
        now = time.monotonic()
        with self._lock:
            tasks = {task_id: task.status_at(now)[0] for task_id, task in self._tasks.items()}
            return {
                "base_url": self.base_url,
                "submit_count": self._submit_count,
                "requests": dict(self._request_counts),
                "tasks": tasks,
                "faults": self.faults.describe(),
            }

    # ---- request handling (called from handler threads) -------------------------------------------

    def _count_request(self, endpoint: str) -> int:
        with self._lock:
            self._request_counts[endpoint] += 1
            return self._request_counts[endpoint]

    def _record_submit_body(self, raw: bytes) -> Any:
        try:
            parsed: Any = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            parsed = raw.decode("utf-8", "replace")
        with self._lock:
            self._submit_bodies.append(parsed)
        return parsed

    def _record_download_headers(self, headers: dict[str, str]) -> None:
        masked = HeaderDict(headers)
        if "authorization" in masked:
            masked["authorization"] = "<redacted>"
        with self._lock:
            self._last_download_headers = masked
            if "range" in masked:
                self._range_requests += 1

    def _sleep(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    def _check_auth(self, authorization: str | None) -> Response | None:
        scheme, _, key = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return error_response(
                401, "FAILED_TO_AUTH", "missing or malformed Authorization: Bearer <API key>"
            )
        if self.api_key is not None and key.strip() != self.api_key:
            return error_response(403, "INVALID_API_KEY", "the API key is not valid")
        return None

    def _submit(
        self, content_type: str | None, body: Any, task_faults: list[Fault]
    ) -> tuple[Response, Task | None]:
        if not (content_type or "").lower().startswith("application/json"):
            return error_response(400, "INVALID_REQUEST_BODY", "Content-Type must be application/json"), None
        if isinstance(body, str):
            return error_response(400, "INVALID_REQUEST_BODY", "request body is not valid JSON"), None
        try:
            params = validate_submit(
                body,
                base64_form=self.base64_form,
                allowed_person_generation=self.allowed_person_generation,
                rng=self._seed_rng,
            )
        except RequestRejected as rejected:
            return error_response(400, "INVALID_REQUEST_BODY", str(rejected)), None
        task = Task(
            task_id=str(uuid.uuid4()),
            params=params,
            body=body,
            created_at=time.monotonic(),
            submit_time_ms=int(time.time() * 1000),
            gen_seconds=self.gen_seconds,
        )
        for fault in task_faults:
            _apply_task_fault(task, fault)
        with self._lock:
            self._tasks[task.task_id] = task
            self._tasks_by_token[task.token] = task
            self._submit_count += 1
        if self._executor is not None:
            self._executor.submit(self._encode_task, task)
        logger.info("task %s created (seed %s, %s)", task.task_id, params.seed, params.resolution)
        return json_response(200, {"task_id": task.task_id}), task

    def _encode_task(self, task: Task) -> None:
        params = task.params
        width, height = OUTPUT_SIZES[(params.resolution, params.aspect_ratio)]
        try:
            # A safety-blocked task delivers nothing: skip the work.
            count = 0 if task.fate == "safety" else task.video_count
            for index in range(count):
                spec = ClipSpec(
                    width=width,
                    height=height,
                    duration_seconds=params.duration_seconds,
                    seed=params.seed,
                    sample_index=index,
                    with_audio=params.generate_audio,
                )
                clip = encode_clip(params.image.image, params.last_image.image, spec, self._stopping.is_set)
                task.videos.append(clip)
                if params.generate_audio and self.audio_entries:
                    task.audios.append(encode_wav(spec))
        except EncodingCancelled:
            return
        except Exception as exc:  # reported to the client as a failed task
            logger.exception("encoding task %s failed", task.task_id)
            task.encode_error = f"{type(exc).__name__}: {exc}"
        task.encoded_at = time.monotonic()
        task.encoded.set()

    def _result_payload(self, task: Task) -> dict[str, Any]:
        now = time.monotonic()
        status, progress, eta, reason = task.status_at(now)
        ttl: str | int = str(int(self.ttl_seconds)) if self.ttl_as == "string" else int(self.ttl_seconds)
        videos: list[dict[str, Any]] = []
        audios: list[dict[str, Any]] = []
        if status == SUCCEED:
            for index in range(min(task.video_count, len(task.videos))):
                url = f"{self.base_url}{FILES_PREFIX}{task.token}/{task.task_id}_{index}.mp4"
                videos.append({"video_url": url, "video_url_ttl": ttl, "video_type": "mp4"})
            for index in range(min(task.video_count, len(task.audios))):
                url = f"{self.base_url}{FILES_PREFIX}{task.token}/{task.task_id}_{index}.wav"
                audios.append({"audio_url": url, "audio_url_ttl": ttl, "audio_type": "wav"})
        completed = task.completed_at()
        execute_ms = task.submit_time_ms + int(task.queue_seconds * 1000) if status != QUEUED else 0
        complete_ms = 0
        if status not in (QUEUED, PROCESSING) and completed is not None:
            complete_ms = task.submit_time_ms + int((completed - task.created_at) * 1000)
        debug_info: dict[str, Any] = {
            "submit_time_ms": str(task.submit_time_ms),
            "execute_time_ms": str(execute_ms),
            "complete_time_ms": str(complete_ms),
            "requested_samples": str(task.params.sample_count),
        }
        if task.video_count < task.params.sample_count and status == SUCCEED:
            debug_info["filtered_samples"] = str(task.params.sample_count - task.video_count)
        if task.params.ignored_fields:
            debug_info["ignored_fields"] = task.params.ignored_fields
        return {
            "task": {
                "task_id": task.task_id,
                "status": status,
                "reason": reason,
                "task_type": MODEL,
                "eta": eta,
                "progress_percent": progress,
            },
            "videos": videos,
            "images": [],
            "audios": audios,
            "extra": {"seed": str(task.seed), "debug_info": debug_info},
        }

    def _result(self, query: str, task_faults: list[Fault]) -> Response:
        task_ids = parse_qs(query).get("task_id", [])
        if not task_ids or not task_ids[0]:
            return error_response(400, "INVALID_REQUEST_BODY", "task_id: is required")
        with self._lock:
            task = self._tasks.get(task_ids[0])
        if task is None:
            return error_response(404, "TASK_NOT_FOUND", f"task {task_ids[0]} not found")
        for fault in task_faults:
            _apply_task_fault(task, fault)
        if task.gone:
            return error_response(404, "TASK_NOT_FOUND", f"task {task.task_id} not found")
        return json_response(200, self._result_payload(task))

    def _download(self, path: str, range_header: str | None) -> Response:
        token, _, name = path[len(FILES_PREFIX) :].partition("/")
        with self._lock:
            task = self._tasks_by_token.get(token)
        media = self._find_media(task, name)
        if task is None or media is None:
            return error_response(404, "NOT_FOUND", "no such file")
        if task.expired_at(time.monotonic(), self.ttl_seconds):
            return error_response(403, "URL_EXPIRED", "the signed URL has expired")
        data, content_type = media
        return _ranged(data, content_type, range_header)

    def _find_media(self, task: Task | None, name: str) -> tuple[bytes, str] | None:
        if task is None or task.gone or task.status != SUCCEED:
            return None
        stem, dot, extension = name.rpartition(".")
        prefix = f"{task.task_id}_"
        if not dot or not stem.startswith(prefix) or not stem[len(prefix) :].isdigit():
            return None
        index = int(stem[len(prefix) :])
        if index >= task.video_count:
            return None
        if extension == "mp4" and index < len(task.videos):
            return task.videos[index], "video/mp4"
        if extension == "wav" and index < len(task.audios):
            return task.audios[index], "audio/wav"
        return None

    def _control(self, method: str, path: str, body: Any) -> Response:
        name = path[len(CONTROL_PREFIX) :].strip("/")
        if name == "stats" and method == "GET":
            return json_response(200, self.stats())
        if name == "faults":
            if method == "GET":
                return json_response(200, {"faults": self.faults.describe()})
            if method == "DELETE":
                self.faults.clear()
                return json_response(200, {"faults": []})
            if method == "POST":
                try:
                    self._add_control_faults(body)
                except (FaultSpecError, TypeError, ValueError) as exc:
                    return error_response(400, "INVALID_REQUEST_BODY", str(exc))
                return json_response(200, {"faults": self.faults.describe()})
        return error_response(404, "NOT_FOUND", f"no control endpoint {method} {path}")

    def _add_control_faults(self, body: Any) -> None:
        """Accept {"spec": "..."}, one fault object, a list of them, or {"faults": [...]}. All or nothing."""
        if isinstance(body, dict) and "spec" in body:
            self.faults.add_spec(str(body["spec"]))
            return
        if isinstance(body, dict) and "faults" in body:
            body = body["faults"]
        items = body if isinstance(body, list) else [body]
        parsed = []
        for item in items:
            if not isinstance(item, dict):
                raise FaultSpecError("each fault must be an object with endpoint, kind, nth, params")
            params = dict(item.get("params") or {})
            parsed.append((item.get("endpoint", ""), item.get("nth"), item.get("kind"), params))
        for endpoint, nth, kind, params in parsed:
            make_fault(endpoint, nth, kind or "", params)  # validate every fault before adding any
        for endpoint, nth, kind, params in parsed:
            self.faults.add(endpoint, nth, kind, **params)


def _ranged(data: bytes, content_type: str, range_header: str | None) -> Response:
    """200 with the whole file, or 206 for a `Range: bytes=N-` / `bytes=N-M` request."""
    total = len(data)
    headers = {"Accept-Ranges": "bytes"}
    if range_header:
        unit, _, spec = range_header.strip().partition("=")
        if unit.strip().lower() == "bytes" and "," not in spec:
            start_text, dash, end_text = spec.strip().partition("-")
            try:
                if not dash:
                    raise ValueError
                if start_text:
                    start = int(start_text)
                    end = min(int(end_text), total - 1) if end_text else total - 1
                else:  # suffix range: the last N bytes
                    start = max(0, total - int(end_text))
                    end = total - 1
            except ValueError:
                start, end = -1, -1
            if start < 0 or start >= total or end < start:
                headers["Content-Range"] = f"bytes */{total}"
                return error_response(
                    416, "RANGE_NOT_SATISFIABLE", f"range {spec!r} outside 0-{total}", headers
                )
            headers["Content-Range"] = f"bytes {start}-{end}/{total}"
            return Response(206, data[start : end + 1], content_type, headers)
    return Response(200, data, content_type, headers)


class _HighwayHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], highway: LocalHighway
    ):
        self.highway = highway
        super().__init__(address, handler)


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

    @staticmethod
    def _endpoint(path: str) -> str:
        if path == SUBMIT_PATH:
            return "submit"
        if path == RESULT_PATH:
            return "result"
        if path.startswith(FILES_PREFIX):
            return "download"
        if path.startswith(CONTROL_PREFIX):
            return "control"
        return "other"

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
        endpoint = self._endpoint(url.path)
        # Read the body first: on a kept-alive connection unread bytes would become the next request.
        raw_body = self._read_body()
        if raw_body is None:
            self.close_connection = True
            self._send(
                error_response(413, "INVALID_REQUEST_BODY", "missing, bad or too large Content-Length")
            )
            return
        number = highway._count_request(endpoint)
        if endpoint == "download":
            highway._record_download_headers(dict(self.headers.items()))
        faults = (
            highway.faults.matching(endpoint, number) if endpoint in ("submit", "result", "download") else []
        )

        for fault in faults:
            if fault.kind == "latency":
                highway._sleep(float(fault.param("seconds")))
        body: Any = (
            highway._record_submit_body(raw_body) if (endpoint, method) == ("submit", "POST") else None
        )
        response = self._refusal(faults, endpoint)
        if response is None:
            response = self._handle(highway, method, endpoint, url.path, url.query, raw_body, body, faults)
        delivery = next((fault for fault in faults if fault.kind in DELIVERY_KINDS), None)
        self._send(response, delivery, head_only=method == "HEAD")

    @staticmethod
    def _refusal(faults: list[Fault], endpoint: str) -> Response | None:
        """The answer of the first refusing fault (one that answers before any work is done)."""
        for fault in faults:
            if fault.kind not in REFUSING_KINDS or fault.param("after_create"):
                continue
            return _fault_response(fault)
        return None

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
            control_body: Any = None
            if raw_body:
                try:
                    control_body = json.loads(raw_body)
                except ValueError:
                    return error_response(400, "INVALID_REQUEST_BODY", "control body is not valid JSON")
            return highway._control(method, path, control_body)
        if endpoint == "download":
            if method not in ("GET", "HEAD"):
                return error_response(405, "METHOD_NOT_ALLOWED", f"{method} not allowed here")
            # Like a signed storage URL, the token in the path is the credential: no Authorization needed.
            return highway._download(path, self.headers.get("Range"))
        if endpoint == "other":
            return error_response(404, "NOT_FOUND", f"no such path {path}")
        expected = "POST" if endpoint == "submit" else "GET"
        if method != expected:
            return error_response(
                405, "METHOD_NOT_ALLOWED", f"{method} not allowed on {path}; use {expected}"
            )
        refused = highway._check_auth(self.headers.get("Authorization"))
        if refused is not None:
            return refused
        if endpoint == "result":
            return highway._result(query, task_faults)
        response, task = highway._submit(self.headers.get("Content-Type"), body, task_faults)
        late_error = next((f for f in faults if f.kind in ("500", "503") and f.param("after_create")), None)
        if task is not None and late_error is not None:
            # The task exists (and would be billed), yet the client only sees an error.
            return _fault_response(late_error)
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


def _fault_response(fault: Fault) -> Response:
    kind = fault.kind
    if kind == "429":
        retry_after = fault.param("retry_after")
        return error_response(
            429,
            "RATE_LIMIT_EXCEEDED",
            "rate limit exceeded, retry later",
            {"Retry-After": str(retry_after)},
        )
    if kind == "400":
        return error_response(400, "INVALID_REQUEST_BODY", str(fault.param("message")))
    if kind in ("500", "503"):
        retry_after = fault.param("retry_after")
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        message = "internal server error" if kind == "500" else "the service is overloaded, retry later"
        return error_response(int(kind), "SERVICE_NOT_AVAILABLE", message, headers)
    if kind == "401":
        return error_response(401, "FAILED_TO_AUTH", "authentication failed")
    if kind == "403":
        return error_response(403, "INVALID_API_KEY", "the API key is not valid")
    if kind == "no_balance":
        return error_response(403, "NOT_ENOUGH_BALANCE", "not enough balance to run this task")
    if kind == "expired":
        status = int(fault.param("status"))
        if status == 404:
            return error_response(404, "NOT_FOUND", "no such file")
        return error_response(403, "URL_EXPIRED", "the signed URL has expired")
    raise AssertionError(f"{kind} is not a refusing fault")


__all__ = ["FAILED", "PROCESSING", "QUEUED", "SUCCEED", "LocalHighway", "Task"]

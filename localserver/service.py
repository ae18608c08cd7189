"""The simulated Highway service: tasks, their clips and files, the faults that change them, and billing.

Knows nothing of sockets or URL paths: `http_server.py` routes each request to one public method here
and writes the `Response` it returns. Clips are encoded on a small worker pool when a task is created;
the task reports success once both its generation time has passed and its clips exist. What a task's
answers say is `result_body.py`'s. Every method is safe to call from several handler threads at once.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
import uuid
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .faults import Fault, FaultPlan
from .responses import (
    HeaderDict,
    Response,
    error_response,
    json_response,
    ranged_response,
    rate_limited_response,
)
from .result_body import result_body, task_file
from .task import PROCESSING, QUEUED, Task
from .validation import BASE64_FORMS, PERSON_GENERATION, RequestRejected, validate_submit
from .video import OUTPUT_SIZES, ClipSpec, EncodingCancelled, encode_clip, encode_wav, pad_mp4

logger = logging.getLogger("localserver")

ENDPOINT_NAMES = ("submit", "result", "download", "control", "other")


class HighwayService:
    """The service's state and rules. The settings are plain attributes, changeable while it runs."""

    def __init__(
        self,
        gen_seconds: float = 3.0,
        ttl_seconds: float = 3600,
        api_key: str | None = None,
        *,
        base64_form: str = "any",
        allowed_person_generation: tuple[str, ...] = PERSON_GENERATION,
        ttl_as: str = "string",
        audio_entries: bool = False,
        encode_workers: int = 2,
        requests_per_minute: int | None = None,
        clip_bytes: int | None = None,
    ) -> None:
        if base64_form not in BASE64_FORMS:
            raise ValueError(f"base64_form must be one of {BASE64_FORMS}")
        if ttl_as not in ("string", "integer"):
            raise ValueError("ttl_as must be 'string' or 'integer'")
        self.gen_seconds = gen_seconds
        self.ttl_seconds = ttl_seconds
        self.api_key = api_key
        # Which Base64 form of the images submit accepts: "any", only "data_uri", or only "bare".
        self.base64_form = base64_form
        self.allowed_person_generation = allowed_person_generation
        # The spec saw video_url_ttl both as "3600" and as 3600: both can be served.
        self.ttl_as = ttl_as
        # Also list a separate WAV per clip in `audios[]` when audio is generated (spec: inferred).
        self.audio_entries = audio_entries
        # When set, API requests (submit, result) beyond this many in any 60 s get 429, as the real
        # service enforces; downloads come from file hosts and are not limited.
        self.requests_per_minute = requests_per_minute
        # When set, each clip is padded to this size with a trailing MP4 `free` box (a large download).
        self.clip_bytes = clip_bytes
        self.faults = FaultPlan()
        self._encode_workers = encode_workers
        self._lock = threading.Lock()
        self._tasks: dict[str, Task] = {}
        self._tasks_by_token: dict[str, Task] = {}
        self._submit_count = 0
        self._request_counts = dict.fromkeys(ENDPOINT_NAMES, 0)
        self._submit_bodies: list[Any] = []
        self._submit_body_bytes: list[int] = []  # as received, before parsing (the upload's size)
        self._range_requests = 0
        self._last_download_headers = HeaderDict()
        self._closing = threading.Event()
        self._executor: ThreadPoolExecutor | None = None
        self._seed_rng = random.SystemRandom()
        self._api_request_times: deque[float] = deque()
        self._rate_limited_count = 0

    # ---- lifecycle ---------------------------------------------------------------------------------

    def open(self) -> None:
        """Start the encoding pool; until then tasks are created but never finish."""
        self._closing.clear()
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                max_workers=self._encode_workers, thread_name_prefix="highway-encode"
            )

    def close(self) -> None:
        """Wake every request waiting in a latency fault, cancel encoding and stop the pool."""
        self._closing.set()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        self._executor = None

    # ---- inspection --------------------------------------------------------------------------------

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
                "submit_count": self._submit_count,
                "rate_limited": self._rate_limited_count,
                "requests": dict(self._request_counts),
                "submit_body_bytes": list(self._submit_body_bytes),
                "tasks": tasks,
                "faults": self.faults.describe(),
            }

    # ---- what every request goes through -----------------------------------------------------------

    def count_request(self, endpoint: str) -> int:
        """Count a request to `endpoint` (one of ENDPOINT_NAMES); returns its 1-based number."""
        with self._lock:
            self._request_counts[endpoint] += 1
            return self._request_counts[endpoint]

    def record_submit_body(self, raw: bytes) -> Any:
        """Keep a submit body for inspection; returns it parsed (or as text when it is not JSON)."""
        try:
            parsed: Any = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            parsed = raw.decode("utf-8", "replace")
        with self._lock:
            self._submit_bodies.append(parsed)
            self._submit_body_bytes.append(len(raw))
        return parsed

    def record_download_headers(self, headers: dict[str, str]) -> None:
        masked = HeaderDict(headers)
        if "authorization" in masked:
            masked["authorization"] = "<redacted>"
        with self._lock:
            self._last_download_headers = masked
            if "range" in masked:
                self._range_requests += 1

    @property
    def rate_limited_count(self) -> int:
        """API requests answered 429 because they went over `requests_per_minute`."""
        with self._lock:
            return self._rate_limited_count

    def admit_api_request(self) -> Response | None:
        """None when an API request fits in `requests_per_minute` (sliding 60 s window), else its 429."""
        limit = self.requests_per_minute
        if limit is None:
            return None
        now = time.monotonic()
        with self._lock:
            while self._api_request_times and now - self._api_request_times[0] >= 60.0:
                self._api_request_times.popleft()
            if len(self._api_request_times) < limit:
                self._api_request_times.append(now)
                return None
            self._rate_limited_count += 1
            wait = 60.0 - (now - self._api_request_times[0])
        return rate_limited_response(max(1, int(wait + 0.999)))

    def pause(self, seconds: float) -> None:
        """A latency fault's wait; ends early when the service closes."""
        self._closing.wait(seconds)

    def check_auth(self, authorization: str | None) -> Response | None:
        """The refusal for a missing, malformed or wrong API key; None when the key is accepted."""
        scheme, _, key = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return error_response(
                401, "FAILED_TO_AUTH", "missing or malformed Authorization: Bearer <API key>"
            )
        if self.api_key is not None and key.strip() != self.api_key:
            return error_response(403, "INVALID_API_KEY", "the API key is not valid")
        return None

    # ---- the three API calls -----------------------------------------------------------------------

    def submit(
        self, content_type: str | None, body: Any, task_faults: list[Fault]
    ) -> tuple[Response, Task | None]:
        """Validate a submit body and create (and bill) its task; the task is None when refused."""
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
            task.apply_fault(fault)
        with self._lock:
            self._tasks[task.task_id] = task
            self._tasks_by_token[task.token] = task
            self._submit_count += 1
        if self._executor is not None:
            self._executor.submit(self._encode_task, task)
        logger.info("task %s created (seed %s, %s)", task.task_id, params.seed, params.resolution)
        return json_response(200, {"task_id": task.task_id}), task

    def result(self, task_id: str, task_faults: list[Fault], files_url: str) -> Response:
        """The task-result answer; its file URLs start with `files_url` (see `download`)."""
        if not task_id:
            return error_response(400, "INVALID_REQUEST_BODY", "task_id: is required")
        with self._lock:
            task = self._tasks.get(task_id)
        if task is None:
            return error_response(404, "TASK_NOT_FOUND", f"task {task_id} not found")
        for fault in task_faults:
            task.apply_fault(fault)
        if task.gone:
            return error_response(404, "TASK_NOT_FOUND", f"task {task.task_id} not found")
        ttl: str | int = str(int(self.ttl_seconds)) if self.ttl_as == "string" else int(self.ttl_seconds)
        return json_response(200, result_body(task, time.monotonic(), ttl, files_url))

    def download(self, token: str, name: str, range_header: str | None) -> Response:
        """The file `<files_url><token>/<name>` from a result, whole or the requested byte range."""
        with self._lock:
            task = self._tasks_by_token.get(token)
        media = task_file(task, name)
        if task is None or media is None:
            return error_response(404, "NOT_FOUND", "no such file")
        if task.expired_at(time.monotonic(), self.ttl_seconds):
            return error_response(403, "URL_EXPIRED", "the signed URL has expired")
        data, content_type = media
        return ranged_response(data, content_type, range_header)

    # ---- behind the calls --------------------------------------------------------------------------

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
                    drift=task.drift_of(index),
                )
                clip = encode_clip(params.image.image, params.last_image.image, spec, self._closing.is_set)
                if self.clip_bytes is not None:
                    clip = pad_mp4(clip, self.clip_bytes)
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

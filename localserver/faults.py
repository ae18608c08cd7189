"""Faults injected on demand: which request of which endpoint misbehaves, and how.

A fault targets one endpoint (`submit`, `result`, `download`, or `any`) and either the Nth request to
that endpoint (1-based, counted from server start, every request counts even a refused one) or every
request (`nth=None`). Grammar of the `FAULTS` environment variable: see localserver/README.md.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

ENDPOINTS = ("submit", "result", "download")
ANY_ENDPOINT = "any"

# kind -> (endpoints it makes sense on, accepted params with their defaults)
FAULT_KINDS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "latency": (ENDPOINTS, {"seconds": 1.0}),
    "429": (ENDPOINTS, {"retry_after": 1}),
    "400": (ENDPOINTS, {"message": "invalid request body"}),
    "500": (ENDPOINTS, {"after_create": False, "retry_after": None}),
    "503": (ENDPOINTS, {"after_create": False, "retry_after": None}),
    "401": (ENDPOINTS, {}),
    "403": (ENDPOINTS, {}),
    "no_balance": (ENDPOINTS, {}),
    "reset": (ENDPOINTS, {"at": "body"}),
    "truncate": (ENDPOINTS, {"bytes": None}),
    "malformed": (ENDPOINTS, {}),
    "html": (ENDPOINTS, {"status": 502}),
    "expired": (("download",), {"status": 403}),
    # A 206 with other bytes than those asked: from `start` (default: neither 0 nor where the
    # client asked), `bytes` long (default: to the end of the file).
    "other_range": (("download",), {"start": None, "bytes": None}),
    "safety": (("submit", "result"), {"reason": None}),
    "unknown_status": (("submit", "result"), {"status": "TASK_STATUS_CANCELED"}),
    "filtered": (("submit", "result"), {"keep": None}),
    "gone": (("submit", "result"), {}),
    # The clip's ends miss its keyframes: `amount` 1 swaps them, 0.3 blends 30 % of the other one in;
    # `sample` picks one sample (0-based), omitted every sample drifts.
    "drift": (("submit",), {"sample": None, "amount": 1.0}),
}

# Faults that answer instead of the normal handler (checked before auth and validation).
REFUSING_KINDS = frozenset({"400", "429", "500", "503", "401", "403", "no_balance", "expired", "html"})
# Faults that let the normal handler run, then spoil how its answer is delivered.
DELIVERY_KINDS = frozenset({"reset", "truncate", "malformed"})
# Faults that change the fate of a task rather than one HTTP answer.
TASK_KINDS = frozenset({"safety", "unknown_status", "filtered", "gone", "drift"})

# "request": before the request was read, so nothing was created; the others after the handler ran.
RESET_POINTS = ("request", "start", "headers", "body")


class FaultSpecError(ValueError):
    """A fault description that cannot be understood."""


@dataclass
class Fault:
    endpoint: str
    kind: str
    nth: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    # How many requests this fault has acted on: lets a test assert the fault really fired.
    hits: int = 0

    def matches(self, endpoint: str, request_number: int) -> bool:
        if self.endpoint not in (endpoint, ANY_ENDPOINT):
            return False
        return self.nth is None or self.nth == request_number

    def param(self, name: str) -> Any:
        return self.params.get(name, FAULT_KINDS[self.kind][1].get(name))

    def describe(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "nth": self.nth,
            "kind": self.kind,
            "params": dict(self.params),
            "hits": self.hits,
        }


def make_fault(endpoint: str, nth: int | None, kind: str | int, params: dict[str, Any]) -> Fault:
    kind = str(kind)
    if kind not in FAULT_KINDS:
        raise FaultSpecError(f"unknown fault kind {kind!r}; known: {', '.join(FAULT_KINDS)}")
    allowed_endpoints, allowed_params = FAULT_KINDS[kind]
    if endpoint != ANY_ENDPOINT and endpoint not in ENDPOINTS:
        raise FaultSpecError(f"unknown endpoint {endpoint!r}; known: {', '.join(ENDPOINTS)}, any")
    if endpoint != ANY_ENDPOINT and endpoint not in allowed_endpoints:
        raise FaultSpecError(f"fault {kind!r} does not apply to {endpoint!r} (only {allowed_endpoints})")
    if nth is not None and (isinstance(nth, bool) or not isinstance(nth, int) or nth < 1):
        raise FaultSpecError(f"nth must be a request number >= 1 or omitted, got {nth!r}")
    unknown = set(params) - set(allowed_params)
    if unknown:
        raise FaultSpecError(
            f"fault {kind!r} takes no parameter {sorted(unknown)}; takes {list(allowed_params)}"
        )
    if kind == "reset" and params.get("at", "body") not in RESET_POINTS:
        raise FaultSpecError(f"reset 'at' must be one of {RESET_POINTS}")
    return Fault(endpoint=endpoint, kind=kind, nth=nth, params=dict(params))


def _parse_value(text: str) -> Any:
    lowered = text.lower()
    if lowered in ("true", "yes"):
        return True
    if lowered in ("false", "no"):
        return False
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text


def parse_fault_spec(spec: str) -> list[Fault]:
    """Parse `submit#1=429:retry_after=2,download#1=truncate,result=500` into faults."""
    faults: list[Fault] = []
    for raw_rule in spec.split(","):
        rule = raw_rule.strip()
        if not rule:
            continue
        target, sep, action = rule.partition("=")
        if not sep or not action.strip():
            raise FaultSpecError(f"fault rule {rule!r} is not ENDPOINT[#N]=KIND[:key=value...]")
        endpoint, hash_sign, nth_text = target.strip().partition("#")
        nth: int | None = None
        if hash_sign:
            nth_text = nth_text.strip()
            if nth_text not in ("", "*"):
                try:
                    nth = int(nth_text)
                except ValueError:
                    raise FaultSpecError(
                        f"fault rule {rule!r}: {nth_text!r} is not a request number"
                    ) from None
        kind, *param_texts = (part.strip() for part in action.split(":"))
        params: dict[str, Any] = {}
        for param_text in param_texts:
            key, eq, value = param_text.partition("=")
            if not eq or not key.strip():
                raise FaultSpecError(f"fault rule {rule!r}: parameter {param_text!r} is not key=value")
            params[key.strip()] = _parse_value(value.strip())
        faults.append(make_fault(endpoint.strip().lower(), nth, kind, params))
    return faults


class FaultPlan:
    """The server's current faults. Thread-safe: handlers read it while tests change it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(
        self, endpoint: str, nth: int | None = None, kind: str | int | None = None, **params: Any
    ) -> Fault:
        """Add one fault; `nth=None` means every request to that endpoint. Returns it (see `.hits`)."""
        if kind is None:
            raise FaultSpecError("a fault needs a kind, e.g. faults.add('download', nth=1, kind='truncate')")
        fault = make_fault(endpoint, nth, kind, params)
        with self._lock:
            self._faults.append(fault)
        return fault

    def add_spec(self, spec: str) -> list[Fault]:
        """Add every rule of a `FAULTS`-style string."""
        faults = parse_fault_spec(spec)
        with self._lock:
            self._faults.extend(faults)
        return faults

    def add_objects(self, body: Any) -> None:
        """Add faults given as JSON (the control endpoint's body): {"spec": "..."}, one fault object,
        a list of them, or {"faults": [...]}. All or nothing: a bad fault adds none."""
        if isinstance(body, dict) and "spec" in body:
            self.add_spec(str(body["spec"]))
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
            self.add(endpoint, nth, kind, **params)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def matching(self, endpoint: str, request_number: int) -> list[Fault]:
        """The faults acting on this request, in the order they were added; counts their hits."""
        with self._lock:
            found = [fault for fault in self._faults if fault.matches(endpoint, request_number)]
            for fault in found:
                fault.hits += 1
            return found

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [fault.describe() for fault in self._faults]

    def __len__(self) -> int:
        with self._lock:
            return len(self._faults)

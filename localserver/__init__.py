"""Development only: a loopback server that speaks the Highway API, makes real MP4s and injects faults.

Never shipped inside the extension. See localserver/README.md for running it, the fault grammar and
which module holds what.
"""

from .faults import FAULT_KINDS, Fault, FaultPlan, FaultSpecError, parse_fault_spec
from .http_server import RESULT_PATH, SUBMIT_PATH, LocalHighway
from .service import HighwayService
from .task import FAILED, PROCESSING, QUEUED, SUCCEED, Task

__all__ = [
    "FAILED",
    "FAULT_KINDS",
    "PROCESSING",
    "QUEUED",
    "RESULT_PATH",
    "SUBMIT_PATH",
    "SUCCEED",
    "Fault",
    "FaultPlan",
    "FaultSpecError",
    "HighwayService",
    "LocalHighway",
    "Task",
    "parse_fault_spec",
]

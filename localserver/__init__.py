"""Development only: a loopback server that speaks the Highway API, makes real MP4s and injects faults.

Never shipped inside the extension. See localserver/README.md for running it and the fault grammar.
"""

from .faults import FAULT_KINDS, Fault, FaultPlan, FaultSpecError, parse_fault_spec
from .server import FAILED, PROCESSING, QUEUED, RESULT_PATH, SUBMIT_PATH, SUCCEED, LocalHighway, Task

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
    "LocalHighway",
    "Task",
    "parse_fault_spec",
]

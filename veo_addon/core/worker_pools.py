"""Thread pools for the work done beside Blender's main thread, each made on its first task:
enabling the add-on, or opening a file without jobs, starts no thread at all."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

Result = TypeVar("Result")


class LazyPool:
    """A `ThreadPoolExecutor` of `workers` threads named `name`, made when first given a task."""

    def __init__(self, name: str, workers: int) -> None:
        self._name = name
        self._workers = workers
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def submit(self, task: Callable[..., Result], *arguments: object) -> Future[Result]:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix=self._name)
            executor = self._executor
        return executor.submit(task, *arguments)

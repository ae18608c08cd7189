"""Test Connection (in the add-on preferences): is the service there, and does it take the key?

The question goes to the service in a worker thread (core/connection.py); Blender's main thread
only looks, on a window-manager timer, whether the answer is in. In background mode, where no
timer fires, the operator waits for the answer instead.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Literal

import bpy

from ..core.errors import VeoError, missing_key_error
from ..core.worker_imports import import_worker_modules
from .preferences import service_settings

if TYPE_CHECKING:
    from ..core.connection import ConnectionVerdict

OperatorResult = set[Literal["RUNNING_MODAL", "CANCELLED", "FINISHED", "PASS_THROUGH", "INTERFACE"]]

# The last answer, drawn under the button until the next test; "" before any test.
last_line = ""
last_accepted = False
TESTING_LINE = "Testing the connection…"


def start_check(api_key: str, base_url: str) -> Future[ConnectionVerdict]:
    """Ask in a worker thread; the future holds the verdict."""
    import_worker_modules()  # a worker importing while the main thread renders can crash Blender
    # Here, not when the add-on is enabled (it loads the client); and on the main thread, as above.
    from ..core.connection import ConnectionVerdict, check_connection

    future: Future[ConnectionVerdict] = Future()

    def work() -> None:
        try:
            future.set_result(check_connection(api_key, base_url))
        except Exception as error:  # the verdict, whatever happens: the main thread is waiting for it
            future.set_result(ConnectionVerdict(False, f"The connection test failed: {type(error).__name__}"))

    threading.Thread(target=work, name="veo-connection-test", daemon=True).start()
    return future


def _redraw_preferences() -> None:
    window_manager: Any = bpy.context.window_manager
    for window in window_manager.windows if window_manager is not None else ():
        for area in window.screen.areas:
            if area.type == "PREFERENCES":
                area.tag_redraw()


class VEO_OT_test_connection(bpy.types.Operator):
    """Ask the service about a task that cannot exist: says whether it is reachable and takes the
    API key, without sending a generation (nothing is paid)"""

    bl_idname = "veo.test_connection"
    bl_label = "Test Connection"

    # Of a ConnectionVerdict; Any, because registering resolves these annotations and that
    # class's module loads with the first test.
    _future: Future[Any] | None = None
    _timer: bpy.types.Timer | None = None

    def execute(self, context: Any) -> OperatorResult:
        global last_line, last_accepted
        try:
            settings = service_settings(context)
            if not settings.api_key:
                raise missing_key_error()
        except VeoError as error:
            last_line, last_accepted = str(error), False
            self.report({"ERROR"}, last_line)
            return {"CANCELLED"}
        self._future = start_check(settings.api_key, settings.base_url)
        if bpy.app.background or context.window is None:
            return self._finish(self._future.result())
        last_line, last_accepted = TESTING_LINE, False
        self._timer = context.window_manager.event_timer_add(0.1, window=context.window)
        context.window_manager.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context: Any, event: bpy.types.Event) -> OperatorResult:
        if event.type != "TIMER" or self._future is None or not self._future.done():
            return {"PASS_THROUGH"}
        if self._timer is not None:
            context.window_manager.event_timer_remove(self._timer)
            self._timer = None
        return self._finish(self._future.result())

    def cancel(self, context: Any) -> None:
        # Blender ends modal operators on file load and quit: the timer goes with them.
        if self._timer is not None:
            context.window_manager.event_timer_remove(self._timer)
            self._timer = None

    def _finish(self, verdict: ConnectionVerdict) -> OperatorResult:
        global last_line, last_accepted
        last_line, last_accepted = verdict.line, verdict.accepted
        self.report({"INFO"} if verdict.accepted else {"ERROR"}, verdict.line)
        if not bpy.app.background:
            _redraw_preferences()
        return {"FINISHED"} if verdict.accepted else {"CANCELLED"}


def draw_test_connection(layout: Any) -> None:
    """The button and, under it, the last answer (the preferences draw this)."""
    row = layout.row()
    row.operator(VEO_OT_test_connection.bl_idname, icon="URL")
    if last_line:
        icon = "TIME" if last_line == TESTING_LINE else "CHECKMARK" if last_accepted else "ERROR"
        layout.label(text=last_line, icon=icon)


classes = (VEO_OT_test_connection,)

"""Veo Transitions: fill a gap in the Video Sequence Editor with a Veo 3.1 clip.

`bpy` is imported only inside register()/unregister() so that `veo_addon.core`
stays importable (and testable) in plain Python.
"""


def register() -> None:
    import bpy

    from .blender import handlers, insert_job_operator, jobstore, operators, preferences

    for cls in (*preferences.classes, *jobstore.classes, *operators.classes, *insert_job_operator.classes):
        bpy.utils.register_class(cls)
    jobstore.register_properties()
    handlers.register()
    # bpy.data cannot be read while add-ons register at start-up; enabling the add-on in an
    # open file must still pick up that file's jobs, so look once the event loop runs.
    if not bpy.app.background:
        bpy.app.timers.register(handlers.pick_up_open_file, first_interval=0.1)


def unregister() -> None:
    import bpy

    from .blender import handlers, insert_job_operator, jobmanager, jobstore, operators, preferences

    # Workers of a disabled add-on would poll on with nobody to apply their results; their
    # jobs stay in the journal and resume when the add-on is enabled again.
    jobmanager.manager.stop_all()
    jobmanager.unregister_pump_timer()
    handlers.unregister()
    jobstore.unregister_properties()
    for cls in reversed(
        (*preferences.classes, *jobstore.classes, *operators.classes, *insert_job_operator.classes)
    ):
        bpy.utils.unregister_class(cls)

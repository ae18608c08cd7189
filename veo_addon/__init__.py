"""Veo Transitions: fill a gap in the Video Sequence Editor with a Veo 3.1 clip.

`bpy` is imported only inside register()/unregister() so that `veo_addon.core`
stays importable (and testable) in plain Python.
"""


def register() -> None:
    import bpy

    from .blender import generation_properties, handlers, jobstore, modal_wait, ui

    for cls in _classes():
        bpy.utils.register_class(cls)
    jobstore.register_properties()
    generation_properties.register_properties()
    ui.register()
    handlers.register()
    modal_wait.register()
    # bpy.data cannot be read while add-ons register at start-up; enabling the add-on in an
    # open file must still pick up that file's jobs, so look once the event loop runs.
    if not bpy.app.background:
        bpy.app.timers.register(handlers.pick_up_open_file, first_interval=0.1)


def unregister() -> None:
    import bpy

    from .blender import generation_properties, handlers, jobmanager, jobstore, modal_wait, ui

    # A waiting operator's timer would outlive its unregistered class.
    modal_wait.unregister()
    # Workers of a disabled add-on would poll on with nobody to apply their results; their
    # jobs stay in the journal and resume when the add-on is enabled again.
    jobmanager.manager.stop_all()
    jobmanager.unregister_pump_timer()
    handlers.unregister()
    ui.unregister()
    generation_properties.unregister_properties()
    jobstore.unregister_properties()
    for cls in reversed(_classes()):
        bpy.utils.unregister_class(cls)


def _classes() -> tuple[type, ...]:
    """Every class the add-on registers, in registration order (PropertyGroups before their users)."""
    from .blender import (
        connection_check,
        generation_properties,
        insert_job_operator,
        job_actions,
        jobstore,
        operators,
        preferences,
        take_operators,
    )

    return (
        *preferences.classes,
        *jobstore.classes,
        *generation_properties.classes,
        *operators.classes,
        *take_operators.classes,
        *job_actions.classes,
        *connection_check.classes,
        *insert_job_operator.classes,
    )

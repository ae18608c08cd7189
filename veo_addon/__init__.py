"""Veo Transitions: fill a gap in the Video Sequence Editor with a Veo 3.1 clip.

`bpy` is imported only inside register()/unregister() so that `veo_addon.core`
stays importable (and testable) in plain Python.
"""


def register() -> None:
    import bpy

    from .blender import handlers, jobstore, operators, preferences, runtime

    for cls in (*preferences.classes, *jobstore.classes, *operators.classes):
        bpy.utils.register_class(cls)
    jobstore.register_properties()
    handlers.register()
    runtime.manager.file_loaded()


def unregister() -> None:
    import bpy

    from .blender import handlers, jobstore, operators, preferences, runtime

    runtime.unregister_pump_timer()
    handlers.unregister()
    jobstore.unregister_properties()
    for cls in reversed((*preferences.classes, *jobstore.classes, *operators.classes)):
        bpy.utils.unregister_class(cls)

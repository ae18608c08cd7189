"""Veo Transitions: fill a gap in the Video Sequence Editor with a Veo 3.1 clip.

`bpy` is imported only inside register()/unregister() so that `veo_addon.core`
stays importable (and testable) in plain Python.
"""


def register() -> None:
    pass


def unregister() -> None:
    pass

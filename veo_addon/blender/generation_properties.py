"""The request's fields and keyframe options as Blender properties, in one place.

The generating operators take them as their options; the scene keeps one more copy
(`Scene.veo_request`) that the Sequencer's sidebar edits and saves with the file, so a
prompt written in the panel is still there tomorrow. Paying again for an identical request
("New Generation") is deliberately not among them: only an operator option that is never
remembered may ask for that.
"""

from typing import Any

import bpy

from ..core.errors import ValidationError
from ..core.fit_methods import FitMethod
from ..core.request_choices import ASPECT_RATIOS, DURATIONS, PERSON_GENERATION, RESOLUTIONS
from ..core.timing import FitMode
from .generation_options import GenerationOptions
from .keyframe_sources import KeyframeSource, SourceKind

RANDOM_SEED = -1
SEED_PROPERTY_MAX = 2**31 - 1  # an IntProperty's C int; the service itself takes up to 2**32 - 1

_SOURCE_ITEMS = [
    (
        SourceKind.RENDER.value,
        "Render",
        "The sequencer's output at that frame, everything stacked, in the footage's own colours "
        "(without the view transform: the clip gets that when it plays)",
    ),
    (SourceKind.STRIP.value, "Strip", "Only the strip's own picture at that frame"),
    (SourceKind.FILE.value, "File", "A PNG, JPEG, TIFF or WebP file"),
    (SourceKind.URL.value, "URL", "An http(s) address the service fetches itself"),
]


class GenerationProperties:
    """Every request field and keyframe option, shared by the generating operators and the scene.

    Annotations only: in the 4.2 wheel a registered PropertyGroup with a method crashes Blender
    when it exits, so what reads them is the module's `generation_options()`."""

    prompt: bpy.props.StringProperty(name="Prompt", description="The transition to generate")  # type: ignore[valid-type]
    negative_prompt: bpy.props.StringProperty(name="Negative Prompt")  # type: ignore[valid-type]
    # Blender keeps an IntProperty in a C int, so seeds stop at 2**31 - 1 here (the service takes
    # up to 2**32 - 1). No hard minimum: a Python caller's -5 is refused by name, not clamped.
    seed: bpy.props.IntProperty(  # type: ignore[valid-type]
        name="Seed",
        description=f"0 to {SEED_PROPERTY_MAX} repeats a result; {RANDOM_SEED} asks for a random seed",
        default=RANDOM_SEED,
        soft_min=RANDOM_SEED,
        soft_max=SEED_PROPERTY_MAX,
    )
    resolution: bpy.props.EnumProperty(  # type: ignore[valid-type]
        name="Resolution", items=[(value, value, "") for value in RESOLUTIONS], default="720p"
    )
    aspect_ratio: bpy.props.EnumProperty(  # type: ignore[valid-type]
        name="Aspect Ratio",
        items=[("auto", "Auto", "Follow the scene's output shape")]
        + [(value, value, "") for value in ASPECT_RATIOS],
        default="auto",
    )
    duration: bpy.props.EnumProperty(  # type: ignore[valid-type]
        name="Duration",
        items=[("auto", "Auto", "The shortest clip that covers the gap (8 s at 1080p)")]
        + [(str(value), f"{value} s", "") for value in DURATIONS],
        default="auto",
    )
    sample_count: bpy.props.IntProperty(name="Samples", min=1, max=4, default=1)  # type: ignore[valid-type]
    generate_audio: bpy.props.BoolProperty(name="Generate Audio", default=False)  # type: ignore[valid-type]
    person_generation: bpy.props.EnumProperty(  # type: ignore[valid-type]
        name="People", items=[(value, value, "") for value in PERSON_GENERATION], default="allow_adult"
    )
    first_source: bpy.props.EnumProperty(name="First Frame", items=_SOURCE_ITEMS, default="render")  # type: ignore[valid-type]
    first_path: bpy.props.StringProperty(name="First Frame File", subtype="FILE_PATH")  # type: ignore[valid-type]
    first_url: bpy.props.StringProperty(name="First Frame URL")  # type: ignore[valid-type]
    last_source: bpy.props.EnumProperty(name="Last Frame", items=_SOURCE_ITEMS, default="render")  # type: ignore[valid-type]
    last_path: bpy.props.StringProperty(name="Last Frame File", subtype="FILE_PATH")  # type: ignore[valid-type]
    last_url: bpy.props.StringProperty(name="Last Frame URL")  # type: ignore[valid-type]
    fit_method: bpy.props.EnumProperty(  # type: ignore[valid-type]
        name="Fit Keyframes",
        items=[
            (FitMethod.CROP.value, "Crop", "Centre crop to the clip's shape"),
            (FitMethod.LETTERBOX.value, "Letterbox", "Fit inside the clip's shape with bars"),
        ],
    )
    fit_mode: bpy.props.EnumProperty(  # type: ignore[valid-type]
        name="Fit Clip",
        items=[
            (FitMode.STRETCH.value, "Stretch", "Retime the clip to fill the gap exactly"),
            (FitMode.TRIM.value, "Trim", "Play in real time and cut the tail"),
        ],
    )
    make_room: bpy.props.BoolProperty(  # type: ignore[valid-type]
        name="Make Room", description="Strips that touch: push everything after the cut along"
    )


def generation_options(properties: Any, *, force_new: bool = False) -> GenerationOptions:
    """The request as `properties` (an operator, or the scene's copy) holds it."""
    return GenerationOptions(
        prompt=properties.prompt,
        negative_prompt=properties.negative_prompt,
        seed=parse_seed(properties.seed),
        resolution=properties.resolution,
        aspect_ratio=properties.aspect_ratio,
        duration=properties.duration,
        sample_count=properties.sample_count,
        generate_audio=properties.generate_audio,
        person_generation=properties.person_generation,
        first_source=_keyframe_source(properties, "first"),
        last_source=_keyframe_source(properties, "last"),
        fit_method=FitMethod(properties.fit_method),
        fit_mode=FitMode(properties.fit_mode),
        make_room=properties.make_room,
        force_new=force_new,
    )


def _keyframe_source(properties: Any, side: str) -> KeyframeSource:
    return KeyframeSource(
        SourceKind(getattr(properties, f"{side}_source")),
        getattr(properties, f"{side}_path"),
        getattr(properties, f"{side}_url"),
    )


def parse_seed(value: int) -> int | None:
    """The operator's seed as the request's: None (random) for RANDOM_SEED."""
    if value == RANDOM_SEED:
        return None
    if not 0 <= value <= SEED_PROPERTY_MAX:
        raise ValidationError(
            "seed", f"{value} is not a seed; use 0 to {SEED_PROPERTY_MAX}, or {RANDOM_SEED} for a random one"
        )
    return value


REQUEST_PROPERTY_NAMES = tuple(GenerationProperties.__annotations__)


def copy_request(source: object, target: object, *, skip: frozenset[str] = frozenset()) -> None:
    """Copy every request property from `source` to `target` (an operator, the scene's copy)."""
    for name in REQUEST_PROPERTY_NAMES:
        if name not in skip:
            setattr(target, name, getattr(source, name))


class VeoRequestSettings(GenerationProperties, bpy.types.PropertyGroup):
    """The request the sidebar edits, saved with the scene (it never holds the API key)."""


classes = (VeoRequestSettings,)


def register_properties() -> None:
    scene_type: Any = bpy.types.Scene
    # The stubs declare the property functions as returning None.
    scene_type.veo_request = bpy.props.PointerProperty(type=VeoRequestSettings)  # type: ignore[func-returns-value]


def unregister_properties() -> None:
    scene_type: Any = bpy.types.Scene
    del scene_type.veo_request


def scene_request(scene: bpy.types.Scene) -> VeoRequestSettings:
    # A PointerProperty registered at run time: the stubs cannot know its type.
    request: VeoRequestSettings = getattr(scene, "veo_request")  # noqa: B009
    return request

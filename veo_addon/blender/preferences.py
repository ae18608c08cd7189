"""Add-on preferences and the settings every job reads from them.

The API key lives here (or in VEO_API_KEY), never in a .blend file: preferences
are saved in Blender's user preferences, not in the scene.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import bpy

from ..core.errors import OnlineAccessError, ValidationError
from ..core.gap_rules import DEFAULT_MAX_STRETCH, DEFAULT_MIN_GAP_SECONDS, GapLimits
from ..core.pricing import DEFAULT_RATE_WITH_AUDIO, DEFAULT_RATE_WITHOUT_AUDIO, PriceRates
from ..core.ratelimit import DEFAULT_REQUESTS_PER_MINUTE
from ..core.request_choices import Base64Form
from ..core.seams import DEFAULT_WARNING_DIFFERENCE
from ..core.urls import DEFAULT_BASE_URL, check_base_url, is_loopback_url

if TYPE_CHECKING:
    from ..core.client import ClientSettings

DEFAULT_SOUND_FADE_FRAMES = 3

# "veo_addon" from a source checkout, "bl_ext.<repo>.veo_transitions" when installed.
ADDON_PACKAGE = __package__.rsplit(".", 1)[0]
API_KEY_ENV = "VEO_API_KEY"
BASE_URL_ENV = "VEO_BASE_URL"
USER_DIR_ENV = "VEO_USER_DIR"
REQUESTS_PER_MINUTE_ENV = "VEO_REQUESTS_PER_MINUTE"
DEFAULT_JOBS_AT_ONCE = 4
DEFAULT_CONFIRM_ABOVE = 2.00  # USD: a 4 s 720p clip (0.80) goes ahead, two 8 s samples (3.20) ask first


# The property declarations below look alike by nature (Blender's declarative form): one
# per preference, each with its own name, range and tooltip.
class VeoPreferences(bpy.types.AddonPreferences):
    bl_idname = ADDON_PACKAGE

    api_key: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="API Key",
        description=f"Highway API key. Left empty, the {API_KEY_ENV} environment variable is used",
        subtype="PASSWORD",
    )
    base_url: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Service URL",
        description=f"Left empty: {BASE_URL_ENV} if set, else {DEFAULT_BASE_URL}",
        default="",
    )
    base64_form: bpy.props.EnumProperty(  # type: ignore[valid-type]
        name="Image Encoding",
        description="How keyframe images are written into the request",
        items=[
            (Base64Form.DATA_URI.value, "Data URI", "data:image/png;base64,..."),
            (Base64Form.BARE.value, "Bare Base64", "The Base64 text alone"),
        ],
        default=Base64Form.DATA_URI.value,
    )
    requests_per_minute: bpy.props.IntProperty(  # type: ignore[valid-type]
        name="Requests per Minute",
        description="Shared by every job in this Blender session",
        default=DEFAULT_REQUESTS_PER_MINUTE,
        min=1,
        max=600,
    )
    clips_folder: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Clips Folder",
        description="Where downloaded clips go; // means beside the saved .blend file",
        default="//veo_clips/",
        subtype="DIR_PATH",
    )
    rate_with_audio: bpy.props.FloatProperty(  # type: ignore[valid-type]
        name="Price per Second with Audio (USD)",
        default=DEFAULT_RATE_WITH_AUDIO,
        min=0.0,
        precision=2,
    )
    rate_without_audio: bpy.props.FloatProperty(  # type: ignore[valid-type]
        name="Price per Second without Audio (USD)",
        default=DEFAULT_RATE_WITHOUT_AUDIO,
        min=0.0,
        precision=2,
    )
    confirm_above: bpy.props.FloatProperty(  # type: ignore[valid-type]
        name="Confirm Above (USD)",
        description=(
            "Generating from the interface asks before paying when the estimate is above this; "
            "0 asks every time"
        ),
        default=DEFAULT_CONFIRM_ABOVE,
        min=0.0,
        soft_max=20.0,
        precision=2,
    )

    concurrency: bpy.props.IntProperty(  # type: ignore[valid-type]
        name="Jobs at Once",
        description=(
            "Most new generation jobs at the service at once; more wait in the order they were "
            "started and are sent as one ends"
        ),
        default=DEFAULT_JOBS_AT_ONCE,
        min=1,
        max=16,
    )

    # Gaps no clip fills sensibly are refused before paying; the defaults are explained in
    # core/gap_rules.py (half a second; a gap at most twice the clip's length).
    min_gap_seconds: bpy.props.FloatProperty(  # type: ignore[valid-type]
        name="Minimum Gap",
        description="Refuse gaps shorter than this: even a 4 s clip would be squeezed into them",
        default=DEFAULT_MIN_GAP_SECONDS,
        min=0.0,
        soft_max=4.0,
        unit="TIME_ABSOLUTE",
    )
    max_stretch: bpy.props.FloatProperty(  # type: ignore[valid-type]
        name="Maximum Stretch",
        description="Refuse gaps more than this many times longer than the clip (it would crawl or freeze)",
        default=DEFAULT_MAX_STRETCH,
        min=1.0,
        soft_max=8.0,
    )

    seam_warning_difference: bpy.props.FloatProperty(  # type: ignore[valid-type]
        name="Seam Warning",
        description=(
            "Warn when a clip's first or last frame differs from its keyframe by more than this "
            "(mean difference of 0-255 colour values on a thumbnail; 0 = identical)"
        ),
        default=DEFAULT_WARNING_DIFFERENCE,
        min=0.0,
        max=255.0,
        soft_max=64.0,
    )
    sound_fade_frames: bpy.props.IntProperty(  # type: ignore[valid-type]
        name="Sound Fades",
        description="Frames the generated sound fades in and out over, so it does not click (0: none)",
        default=DEFAULT_SOUND_FADE_FRAMES,
        min=0,
        soft_max=24,
    )
    placeholder: bpy.props.BoolProperty(  # type: ignore[valid-type]
        name="Placeholder While Generating",
        description=(
            "Hold the gap with a crossfade of the two keyframes while Veo works; the clip replaces "
            "it wherever you move it. Deleting it means: do not insert the clip"
        ),
        default=True,
    )

    def draw(self, context: bpy.types.Context) -> None:
        from .connection_check import draw_test_connection  # it imports this module

        layout = self.layout
        layout.use_property_split = True
        layout.prop(self, "api_key")
        if not self.api_key and os.environ.get(API_KEY_ENV):
            layout.label(text=f"Using the key from {API_KEY_ENV}", icon="INFO")
        layout.prop(self, "base_url")
        draw_test_connection(layout)
        layout.prop(self, "base64_form")
        layout.prop(self, "requests_per_minute")
        # Added by the modal operator's part; drawn when present.
        for name in ("concurrency", "confirm_above"):
            if hasattr(self, name):
                layout.prop(self, name)
        layout.prop(self, "clips_folder")
        column = layout.column(heading="Estimate at List Price")
        column.prop(self, "rate_with_audio")
        column.prop(self, "rate_without_audio")
        column = layout.column(heading="Gaps")
        column.prop(self, "min_gap_seconds")
        column.prop(self, "max_stretch")
        column = layout.column(heading="After Inserting")
        column.prop(self, "seam_warning_difference")
        column.prop(self, "sound_fade_frames")
        layout.prop(self, "placeholder")


@dataclass(frozen=True)
class ServiceSettings:
    """What a job needs to talk to the service; built on the main thread, read by workers."""

    api_key: str
    base_url: str
    client_settings: ClientSettings
    clips_folder: str
    rate_with_audio: float
    rate_without_audio: float
    gap_limits: GapLimits = field(default_factory=GapLimits)
    jobs_at_once: int = 0  # new submissions in flight at once; 0: no limit
    placeholder: bool = True  # reserve the gap with a placeholder strip when a job starts

    def __repr__(self) -> str:  # the key stays out of every repr
        return f"ServiceSettings(base_url={self.base_url!r}, clips_folder={self.clips_folder!r})"

    @property
    def price_rates(self) -> PriceRates:
        return PriceRates(
            with_audio_per_second=self.rate_with_audio, without_audio_per_second=self.rate_without_audio
        )


def preferences(context: bpy.types.Context | None = None) -> VeoPreferences | None:
    user_preferences = (context or bpy.context).preferences
    addon = user_preferences.addons.get(ADDON_PACKAGE) if user_preferences is not None else None
    return addon.preferences if addon is not None else None


def service_settings(context: bpy.types.Context | None = None) -> ServiceSettings:
    """Key and URL from the preferences, else from VEO_API_KEY / VEO_BASE_URL.

    Raises OnlineAccessError when Blender's online access is off and the service is not on
    this machine: a loopback server (the local test server) never leaves the computer, so
    it is allowed, and it is how tests and `make demo` run inside a bpy process that has no
    way to pass --online-mode.
    """
    prefs = preferences(context)
    base_url = check_base_url(
        (prefs.base_url if prefs and prefs.base_url.strip() else "")
        or os.environ.get(BASE_URL_ENV, "").strip()
        or DEFAULT_BASE_URL
    )
    if not bpy.app.online_access and not is_loopback_url(base_url):
        raise OnlineAccessError(
            "Online access is off, so nothing is sent to the video service. Start Blender with "
            "--online-mode, or enable Preferences > System > Network > Allow Online Access."
        )
    api_key = (prefs.api_key.strip() if prefs else "") or os.environ.get(API_KEY_ENV, "").strip()
    # The client's machinery loads with the first job or connection test, not when the add-on is enabled.
    from ..core import client

    return ServiceSettings(
        api_key=api_key,
        base_url=base_url,
        client_settings=client.ClientSettings(
            base64_form=Base64Form(prefs.base64_form) if prefs else Base64Form.DATA_URI,
            requests_per_minute=_requests_per_minute(prefs),
        ),
        clips_folder=prefs.clips_folder if prefs else "//veo_clips/",
        rate_with_audio=prefs.rate_with_audio if prefs else DEFAULT_RATE_WITH_AUDIO,
        rate_without_audio=prefs.rate_without_audio if prefs else DEFAULT_RATE_WITHOUT_AUDIO,
        gap_limits=GapLimits(prefs.min_gap_seconds, max(1.0, prefs.max_stretch)) if prefs else GapLimits(),
        jobs_at_once=int(prefs.concurrency) if prefs else 0,
        placeholder=bool(prefs.placeholder) if prefs else True,
    )


def finishing_settings(context: bpy.types.Context | None = None) -> tuple[float, int]:
    """(seam warning level, sound fade frames) from the preferences, else their defaults."""
    prefs = preferences(context)
    if prefs is None:
        return DEFAULT_WARNING_DIFFERENCE, DEFAULT_SOUND_FADE_FRAMES
    return float(prefs.seam_warning_difference), int(prefs.sound_fade_frames)


def price_rates(context: bpy.types.Context | None = None) -> tuple[float, float]:
    """(with audio, without audio) per second, for estimates made outside a request."""
    prefs = preferences(context)
    if prefs is None:
        return DEFAULT_RATE_WITH_AUDIO, DEFAULT_RATE_WITHOUT_AUDIO
    return float(prefs.rate_with_audio), float(prefs.rate_without_audio)


def _requests_per_minute(prefs: VeoPreferences | None) -> int:
    if prefs is not None:
        return int(prefs.requests_per_minute)
    from_environment = os.environ.get(REQUESTS_PER_MINUTE_ENV, "").strip()
    try:
        return max(1, int(from_environment)) if from_environment else DEFAULT_REQUESTS_PER_MINUTE
    except ValueError:
        raise ValidationError(
            REQUESTS_PER_MINUTE_ENV, f"{from_environment!r} is not a whole number of requests"
        ) from None


def user_folder() -> Path:
    """The extension's own folder in the user's Blender config (journal, clips of unsaved files)."""
    override = os.environ.get(USER_DIR_ENV)
    if override:
        folder = Path(override)
    else:
        try:
            folder = Path(bpy.utils.extension_path_user(ADDON_PACKAGE, path="", create=True))
        except ValueError:  # running from a source checkout, not installed as an extension
            folder = Path(bpy.utils.user_resource("CONFIG", path="veo_transitions", create=True))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


classes = (VeoPreferences,)

"""Add-on preferences and the settings every job reads from them.

The API key lives here (or in VEO_API_KEY), never in a .blend file: preferences
are saved in Blender's user preferences, not in the scene.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import bpy

from ..core.client import DEFAULT_BASE_URL, ClientSettings, check_base_url, is_loopback_url
from ..core.errors import OnlineAccessError, ValidationError
from ..core.gap_rules import DEFAULT_MAX_STRETCH, DEFAULT_MIN_GAP_SECONDS, GapLimits
from ..core.pricing import DEFAULT_RATE_WITH_AUDIO, DEFAULT_RATE_WITHOUT_AUDIO
from ..core.ratelimit import DEFAULT_REQUESTS_PER_MINUTE
from ..core.request import Base64Form

# "veo_addon" from a source checkout, "bl_ext.<repo>.veo_transitions" when installed.
ADDON_PACKAGE = __package__.rsplit(".", 1)[0]
API_KEY_ENV = "VEO_API_KEY"
BASE_URL_ENV = "VEO_BASE_URL"
USER_DIR_ENV = "VEO_USER_DIR"
REQUESTS_PER_MINUTE_ENV = "VEO_REQUESTS_PER_MINUTE"


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

    placeholder: bpy.props.BoolProperty(  # type: ignore[valid-type]
        name="Placeholder While Generating",
        description=(
            "Hold the gap with a crossfade of the two keyframes while Veo works; the clip replaces "
            "it wherever you move it. Deleting it means: do not insert the clip"
        ),
        default=True,
    )

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        layout.use_property_split = True
        layout.prop(self, "api_key")
        if not self.api_key and os.environ.get(API_KEY_ENV):
            layout.label(text=f"Using the key from {API_KEY_ENV}", icon="INFO")
        layout.prop(self, "base_url")
        layout.prop(self, "base64_form")
        layout.prop(self, "requests_per_minute")
        layout.prop(self, "clips_folder")
        column = layout.column(heading="Estimate at List Price")
        column.prop(self, "rate_with_audio")
        column.prop(self, "rate_without_audio")
        column = layout.column(heading="Gaps")
        column.prop(self, "min_gap_seconds")
        column.prop(self, "max_stretch")
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
    placeholder: bool = True  # reserve the gap with a placeholder strip when a job starts

    def __repr__(self) -> str:  # the key stays out of every repr
        return f"ServiceSettings(base_url={self.base_url!r}, clips_folder={self.clips_folder!r})"


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
    return ServiceSettings(
        api_key=api_key,
        base_url=base_url,
        client_settings=ClientSettings(
            base64_form=Base64Form(prefs.base64_form) if prefs else Base64Form.DATA_URI,
            requests_per_minute=_requests_per_minute(prefs),
        ),
        clips_folder=prefs.clips_folder if prefs else "//veo_clips/",
        rate_with_audio=prefs.rate_with_audio if prefs else DEFAULT_RATE_WITH_AUDIO,
        rate_without_audio=prefs.rate_without_audio if prefs else DEFAULT_RATE_WITHOUT_AUDIO,
        gap_limits=GapLimits(prefs.min_gap_seconds, max(1.0, prefs.max_stretch)) if prefs else GapLimits(),
        placeholder=bool(prefs.placeholder) if prefs else True,
    )


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

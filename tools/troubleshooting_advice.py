"""What to do about each message on docs/troubleshooting.md (read by tools/messages.py)."""

# (pattern searched in the message, what to do). First match wins; every pattern must match
# at least one message (a stale one fails --check).
ADVICE: list[tuple[str, str]] = [
    (
        r"^No API key",
        "Paste the key in Edit > Preferences > Add-ons > Veo Transitions > API Key, "
        "or set `VEO_API_KEY` before starting Blender.",
    ),
    (
        r"API key",
        "Copy the key again from your Highway account into the API Key preference (or "
        "`VEO_API_KEY`); check that it is active. Nothing was paid.",
    ),
    (
        r"^Online access is off",
        "Allow Blender online: Edit > Preferences > System > Network > "
        "Allow Online Access, or start it with `--online-mode`. Nothing was sent.",
    ),
    (r"no balance left", "Top up the Highway account, then generate again."),
    (
        r"is muted, so the render|on muted channel",
        "Unmute the strip (or its channel), or take "
        "that keyframe from a File or the Strip source. Nothing was sent.",
    ),
    (
        r"has no scene to show",
        "Point the scene strip at a scene again (its Scene field in the sidebar), or take "
        "that keyframe from a File. Nothing was sent.",
    ),
    (
        r"which has no camera",
        "Give that scene a camera (or set the strip's Camera override), or take that keyframe "
        "from a File. Nothing was sent.",
    ),
    (
        r"inside (of )?meta strip",
        "Ungroup the meta strip (UnMeta, Ctrl+Alt+G), or take the strips on the main timeline "
        "around the gap. Nothing was sent.",
    ),
    (
        r"shows missing media",
        "Relink the strip's file (File > External Data > Find Missing Files) "
        "or take that keyframe from a File. Nothing was sent.",
    ),
    (
        r"sound strips have no picture|no picture to take a keyframe",
        "Pick the picture strips on "
        "either side of the gap (a sound strip has no frame to send), or use `--left`/`--right`.",
    ),
    (
        r"is shorter than the minimum",
        "Lengthen the gap, or lower the Minimum Gap preference (`--min-gap` headless). Nothing was sent.",
    ),
    (
        r"maximum stretch",
        "Shorten the gap, or raise the Maximum Stretch preference "
        "(`--max-stretch` headless). Nothing was sent.",
    ),
    (
        r"sound cannot follow a retimed",
        "Turn off Generate Audio, set Fit Clip to Trim, or make "
        "the gap as long as the clip. Nothing was sent.",
    ),
    (
        r"touch \(no gap",
        "Turn on Make Room (`--make-room`) to push the right side along, or move the strips apart.",
    ),
    (r"^Cannot make room", "Unlock that strip or channel, or move the shots apart and leave a gap."),
    (
        r"No free unlocked channel",
        "Free or unlock channels above the shots: the clip, its speed "
        "strip, its sound and each extra take need one each. Nothing was sent.",
    ),
    (
        r"^Select exactly two strips",
        "Select only the two strips around the gap, or deselect all and put the playhead inside the gap.",
    ),
    (
        r"put the playhead in a gap|is not in a gap",
        "Put the playhead inside the gap (not on a strip), or select the two strips around it.",
    ),
    (r"There is no gap between strips", "Nothing to fill: leave an empty stretch between two shots first."),
    (r"overlap by", "Move the strips apart so that there is an empty stretch between them."),
    (
        r"clips folder|Cannot write clips",
        "Save the .blend in a folder you can write to; clips go into `veo_clips/` beside it.",
    ),
    (
        r"outcome is unknown|It was not sent again",
        "Check your Highway account for the task. If it "
        "was not billed (or you want another clip anyway), run again with New Generation (`--new`).",
    ),
    (
        r"is gone at the service|no longer known to the service",
        "The service dropped the task and "
        "its clip. Run again with New Generation (`--new`); that pays again.",
    ),
    (
        r"still being submitted",
        "Wait a moment and run again: the earlier identical request's clip will be reused at no charge.",
    ),
    (
        r"safety filters",
        "Change the prompt or keyframes (faces, people and brands are the usual cause) and generate again.",
    ),
    (r"^Task … failed", "The service could not make the clip; nothing to fetch. Try another prompt or seed."),
    (
        r"refused the request",
        "Read the service's reason at the end and change that setting. Nothing was paid.",
    ),
    (
        r"rate limiting",
        "Wait a minute; lower the Requests per Minute preference if it keeps "
        "happening (`VEO_REQUESTS_PER_MINUTE` headless).",
    ),
    (
        r"unavailable",
        "The service is down or overloaded. Try later; a job with a task id is kept: "
        "Resume Jobs finishes it.",
    ),
    (
        r"^Could not reach|^Could not get task|^Download of",
        "Check the internet connection and the "
        "Service URL, then run Resume Jobs: the task id is kept, nothing is paid twice.",
    ),
    (
        r"no answer came back",
        "The submit may have been charged. Check your account before "
        "generating again; only New Generation (`--new`) sends it again.",
    ),
    (r"has expired", "The clip can no longer be downloaded; run again with New Generation (`--new`)."),
    (
        r"base_url",
        "Use an `https://` Service URL (plain `http://` only for 127.0.0.1 / localhost), "
        "or leave it empty for the real service; check `VEO_BASE_URL`.",
    ),
    (r"URL must|http\(s\) (address|URL)", "Give an `http://` or `https://` address of the image."),
    (
        r"keyframe file '…' does not exist|keyframe file '…' is not a file",
        "Choose an existing PNG, JPEG, TIFF or WebP file for that keyframe.",
    ),
    (r"megapixels|or smaller|read up to", "Use a smaller keyframe image (scale it down)."),
    (
        r"cannot be decoded|is not a .* image|colour mode|is empty|not a readable image",
        "Re-save the image as PNG or JPEG and use that file.",
    ),
    (
        r"^seed|^Seed",
        "Use a seed from 0 to 2147483647, or -1 (headless: leave `--seed` out) for a random one.",
    ),
    (r"^prompt", "Write a prompt that describes the transition."),
    (r"1080p is offered with 8-second", "Choose 720p, or Duration 8 s (or Auto) for 1080p."),
    (
        r"^Job id|^No job|No job id given",
        "Give the job id from a `[veo]` line (its first 8 characters are enough).",
    ),
    (r"is not running", "Nothing to stop: the job already ended or runs in another Blender."),
    (r"^Save this file first", "Save the .blend (File > Save), then run the operator again."),
    (r"moved since the transition was chosen", "Run Generate Transition again on the gap as it is now."),
    (
        r"^Clip file|cannot read the clip|clip files of task",
        "The clip on disk is missing or damaged (moved, deleted, or its download cut short). Put it back "
        "into `veo_clips/` beside the .blend and run Resume Jobs; if it is lost, generate again.",
    ),
    (
        r"no longer on the timeline",
        "A strip around the gap was deleted or renamed while the clip was "
        "being made. Undo that (Ctrl-Z) or put the strip back, then run Resume Jobs.",
    ),
    (
        r"^No strip named|is not on the timeline",
        "Check the strip's name (it is case-sensitive) in the sequencer.",
    ),
    (r"^Name both strips", "Give both `left_strip` and `right_strip` (`--left` and `--right`), or neither."),
    (r"^Pick two different strips", "Name the strip before the gap and the one after it."),
    (r"^Stopped before anything was sent", "Nothing to do: nothing was paid. Run again when ready."),
    (
        r"^Stopped|^Download stopped",
        "You stopped waiting; the task id is kept. Resume Jobs "
        "(`--resume`) fetches the clip without paying again.",
    ),
    (
        r"is not known at",
        "Set the Service URL (or `VEO_BASE_URL`) back to the address the message "
        "names, then run Resume Jobs.",
    ),
    (r"^No unfinished job", "Nothing to do: every job of this file has ended."),
    (r"is already running", "Wait: that job is already being followed."),
    (
        r"^Inserting the clip failed",
        "Nothing was changed. Fix the cause the message names, then run "
        "Resume Jobs: the clip is downloaded already.",
    ),
    (r"^There is no take", "Use one of the take numbers the message lists."),
    (
        r"^Rendering frame",
        "Check that the sequencer preview shows a picture at that frame, or take the keyframe from a File.",
    ),
    (r"^Aspect ratio must be", "Choose Aspect Ratio auto, 16:9 or 9:16."),
    (r"^no file chosen", "Choose the keyframe file for that side (First/Last Frame File)."),
    (r"at most 20 MB|cannot be encoded under", "Use a smaller or simpler keyframe image."),
    (r"^veo_generate: …$", "The rest of the line is one of the messages on this page: look it up."),
    (r"^… ended …$", "The operator did not finish; the `[veo]` lines above say why."),
    (r"^--m(in-gap|ax-stretch) must", "Give `--min-gap` 0 or more seconds, `--max-stretch` 1 or more."),
    (r"^veo_generate: --blend: no such \.blend", "Check the path given to `--blend`."),
    (r"--scene: no scene", "Use one of the scene names the message lists (case-sensitive)."),
    (r"--prompt is required", 'Add `--prompt "..."` (only `--resume` alone needs none).'),
    (r"takes no --left/--right", "Use either `--all-gaps` or `--left`/`--right`, not both."),
    (r"^name both strips", "Give both `--left` and `--right`, or neither."),
    (r"-source … needs", "Add the file or URL flag the message names."),
    (r"--save has no path", "Save the .blend once by hand, or leave out `--save`."),
    (r"is not allowed; use one of|is out of range; use", "Use one of the values the message lists."),
]

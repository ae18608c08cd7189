"""Run by the window tests in Debian's Blender 4.3 (background): save a small edit.

Usage: blender -b --factory-startup --python make_edit.py -- OUT.blend

Two colour shots on channel 1 with a 96-frame gap (4 s at 24 fps: a 4 s clip fits it
frame for frame): "Left" frames 1-60, gap 61-156, "Right" 157-216.
"""

import sys

import bpy

out = sys.argv[sys.argv.index("--") + 1]
scene = bpy.context.scene
scene.render.fps, scene.render.fps_base = 24, 1.0
scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = 1280, 720, 100
scene.frame_start, scene.frame_end = 1, 216
strips = scene.sequence_editor_create().sequences
left = strips.new_effect(name="Left", type="COLOR", channel=1, frame_start=1, frame_end=61)
left.color = (0.8, 0.2, 0.1)
right = strips.new_effect(name="Right", type="COLOR", channel=1, frame_start=157, frame_end=217)
right.color = (0.1, 0.3, 0.8)
bpy.ops.wm.save_as_mainfile(filepath=out)

"""Thin Blender layer: reads and writes the sequencer through bpy."""

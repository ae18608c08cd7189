"""Pure-Python core of the add-on: never imports bpy."""

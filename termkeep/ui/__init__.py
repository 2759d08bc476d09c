"""The Textual app. Nothing outside cli imports it."""

import importlib
import os

# Textual repaints the screen on a fixed grid of 1/TEXTUAL_FPS seconds (60 a second by
# default), so a frame the terminal view draws between two grid points waited up to 16 ms
# more to reach the screen: the end of a burst of output was late by that much. The terminal
# view paces its own frames (FramePacer), so a finer grid only shortens the wait, to 4 ms at
# most here. A 1 ms grid measured a little more idle CPU (10 idle tabs: 0.8-0.9 % of a core,
# against 0.7-0.8 % at 4 ms). Set only while Textual reads it (once, on import), so the
# demo's shell and other children do not inherit it; a TEXTUAL_FPS of the user's own wins.
REPAINT_GRID_FPS = "240"
if "TEXTUAL_FPS" not in os.environ:
    os.environ["TEXTUAL_FPS"] = REPAINT_GRID_FPS
    try:
        importlib.import_module("textual.constants")
    finally:
        del os.environ["TEXTUAL_FPS"]

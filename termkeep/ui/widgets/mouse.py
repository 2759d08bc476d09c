"""Textual's mouse events in the terminal's own words, for reporting them to a remote that
tracks the mouse."""

from __future__ import annotations

from textual import events

from termkeep.terminal.keys import MouseButton, MouseModifiers

_BUTTONS = {1: MouseButton.LEFT, 2: MouseButton.MIDDLE, 3: MouseButton.RIGHT}


def mouse_button(event: events.MouseEvent) -> MouseButton:
    """The button of ``event`` (NONE for motion without one, or an unknown button)."""
    return _BUTTONS.get(event.button, MouseButton.NONE)


def mouse_modifiers(event: events.MouseEvent) -> MouseModifiers:
    """The modifier keys held with ``event`` (Textual's meta is the terminal's alt)."""
    return MouseModifiers(shift=event.shift, ctrl=event.ctrl, alt=event.meta)

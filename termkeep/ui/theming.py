"""Theme data (config) turned into what Textual and the terminal widget paint with."""

from __future__ import annotations

from rich.terminal_theme import TerminalTheme
from textual.theme import Theme

from termkeep.config.themes import ThemeSpec
from termkeep.terminal.palette import RGB, Palette


def rgb(colour: str) -> RGB:
    """``#rrggbb`` -> (r, g, b); theme files are already checked and normalised."""
    return (int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16))


def textual_theme(spec: ThemeSpec) -> Theme:
    """The app's colours as a Textual Theme of the same name."""
    ui = spec.ui
    return Theme(
        name=spec.name,
        primary=ui["primary"],
        secondary=ui["secondary"],
        accent=ui["accent"],
        background=ui["background"],
        surface=ui["surface"],
        panel=ui["panel"],
        foreground=ui["foreground"],
        warning=ui["warning"],
        error=ui["error"],
        success=ui["success"],
        dark=spec.dark,
    )


def terminal_palette(spec: ThemeSpec) -> Palette:
    """The terminal engine's palette: 16 ANSI colours plus default fg/bg/cursor."""
    colours = spec.terminal
    return Palette(
        ansi=tuple(rgb(colour) for colour in colours.ansi),
        foreground=rgb(colours.foreground),
        background=rgb(colours.background),
        cursor=rgb(colours.cursor),
    )


def ansi_theme(spec: ThemeSpec) -> TerminalTheme:
    """Textual repaints ANSI colours with its own palette; this makes it use the theme's."""
    colours = spec.terminal
    ansi = [rgb(colour) for colour in colours.ansi]
    return TerminalTheme(rgb(colours.background), rgb(colours.foreground), ansi[:8], ansi[8:])

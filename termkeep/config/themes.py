"""Themes as data: one TOML file per theme, built-ins first, then the user's own.

A theme file has three tables: ``[ui]`` (the app's colours, the fields of a Textual theme),
``[terminal]`` (default foreground, background and cursor of what the remote draws) and
``[ansi]`` (the 16 ANSI colours by name). The theme's name is its file name. Reading is strict,
like profiles: an unknown key or a value that is not a ``#rrggbb`` colour is an error naming the
file and the key, with a "did you mean" where one helps. A broken file never stops the app:
every problem of every file is collected, the good themes load, and the app falls back to the
default theme when the one asked for is missing.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from termkeep import paths
from termkeep.config.errors import ConfigError, KeyIssue, did_you_mean
from termkeep.config.files import ConfigFileError, load_toml_file, located_reason

DEFAULT_THEME_NAME = "termkeep-dark"

UI_COLOUR_KEYS = (
    "primary",
    "secondary",
    "accent",
    "background",
    "surface",
    "panel",
    "foreground",
    "warning",
    "error",
    "success",
)
"""The colours of ``[ui]``; every one is required so themes never inherit by accident."""

TERMINAL_KEYS = ("foreground", "background", "cursor")

ANSI_NAMES = (
    "black",
    "red",
    "green",
    "yellow",
    "blue",
    "magenta",
    "cyan",
    "white",
    "bright_black",
    "bright_red",
    "bright_green",
    "bright_yellow",
    "bright_blue",
    "bright_magenta",
    "bright_cyan",
    "bright_white",
)
"""The 16 ANSI colours in SGR order (30-37, then 90-97)."""

_TABLES: dict[str, tuple[str, ...]] = {
    "ui": ("dark", *UI_COLOUR_KEYS),
    "terminal": TERMINAL_KEYS,
    "ansi": ANSI_NAMES,
}

_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


@dataclass(frozen=True, slots=True)
class TerminalColors:
    """The colours the terminal widget paints the remote's output with."""

    foreground: str
    """Default text colour, ``#rrggbb``."""

    background: str
    """Default background colour, ``#rrggbb``."""

    cursor: str
    """Cursor colour, ``#rrggbb``."""

    ansi: tuple[str, ...]
    """The 16 ANSI colours in SGR order, each ``#rrggbb``."""


@dataclass(frozen=True, slots=True)
class ThemeSpec:
    """One loaded theme: the app's colours plus the terminal's."""

    name: str
    """The theme's name, which is its file name without ``.toml``."""

    dark: bool
    """Whether the UI is light text on a dark background."""

    ui: Mapping[str, str]
    """UI colour by key of ``UI_COLOUR_KEYS``, each ``#rrggbb``."""

    terminal: TerminalColors
    """What the remote's output is painted with."""

    source: Path | None = None
    """The file it came from (None for the emergency fallback)."""


@dataclass(frozen=True, slots=True)
class ThemeCatalog:
    """Every theme that loaded, by name, and every problem found on the way."""

    themes: Mapping[str, ThemeSpec]
    issues: tuple[KeyIssue, ...] = field(default=())

    def names(self) -> list[str]:
        """Theme names, sorted, for pickers."""
        return sorted(self.themes)

    def resolve(self, name: str | None) -> ThemeSpec:
        """The theme called ``name``, else the default theme, else any theme at all.

        The app must always have something to paint with, so a missing or broken theme is
        never fatal; the caller reports ``issues`` (and whether ``name`` was found) itself.
        """
        if name is not None and name in self.themes:
            return self.themes[name]
        if DEFAULT_THEME_NAME in self.themes:
            return self.themes[DEFAULT_THEME_NAME]
        if self.themes:
            return self.themes[self.names()[0]]
        return FALLBACK_THEME


# Used only when no theme file loads at all (a broken install); plain and readable.
FALLBACK_THEME = ThemeSpec(
    name="fallback",
    dark=True,
    ui={
        "primary": "#4fa3e0",
        "secondary": "#2d6a9f",
        "accent": "#f0a830",
        "background": "#000000",
        "surface": "#111111",
        "panel": "#222222",
        "foreground": "#dddddd",
        "warning": "#e0af68",
        "error": "#e05561",
        "success": "#7fbf6a",
    },
    terminal=TerminalColors(
        foreground="#dddddd",
        background="#000000",
        cursor="#dddddd",
        ansi=(
            "#000000",
            "#cd0000",
            "#00cd00",
            "#cdcd00",
            "#0000ee",
            "#cd00cd",
            "#00cdcd",
            "#e5e5e5",
            "#7f7f7f",
            "#ff0000",
            "#00ff00",
            "#ffff00",
            "#5c5cff",
            "#ff00ff",
            "#00ffff",
            "#ffffff",
        ),
    ),
)


def normalize_colour(value: str) -> str:
    """``#abc`` or ``#AABBCC`` -> ``#aabbcc``; the value must already match ``_COLOUR``."""
    digits = value[1:].lower()
    if len(digits) == 3:
        digits = "".join(ch * 2 for ch in digits)
    return f"#{digits}"


def _hint(word: str, choices: tuple[str, ...] | list[str]) -> str:
    """A 'did you mean', or the valid keys when nothing is close."""
    return did_you_mean(word, choices) or f"; valid keys: {', '.join(choices)}"


def _check_colour(key: str, value: object) -> str | None:
    if not isinstance(value, str) or not _COLOUR.fullmatch(value):
        return f'{value!r} is not a colour; write it as "#rrggbb" (e.g. {key} = "#1e90ff")'
    return None


def _check_table(
    table: str, data: object, problems: list[tuple[str, str]]
) -> dict[str, object] | None:
    """Unknown, missing and badly typed keys of one table; the good values are returned."""
    if not isinstance(data, dict):
        problems.append((table, f"must be a table: write [{table}] on its own line"))
        return None
    good: dict[str, object] = {}
    allowed = _TABLES[table]
    for key, value in data.items():
        dotted = f"{table}.{key}"
        if key not in allowed:
            problems.append((dotted, f"unknown key {key!r}{_hint(key, allowed)}"))
        elif key == "dark":
            if isinstance(value, bool):
                good[key] = value
            else:
                problems.append((dotted, f"must be true or false, not {value!r}"))
        else:
            problem = _check_colour(key, value)
            if problem:
                problems.append((dotted, problem))
            else:
                good[key] = normalize_colour(str(value))
    for key in allowed:
        if key not in data:
            problems.append((f"{table}.{key}", f"is missing; add it under [{table}]"))
    return good


def theme_from_mapping(name: str, data: Mapping[str, object], source: Path) -> ThemeSpec:
    """Check a parsed theme file strictly; raise ThemeLoadError listing all its problems."""
    problems: list[tuple[str, str]] = []
    for table in data:
        if table not in _TABLES:
            tables = tuple(_TABLES)
            problems.append((table, f"unknown table {table!r}{_hint(table, tables)}"))
    checked: dict[str, dict[str, object] | None] = {}
    for table in _TABLES:
        if table in data:
            checked[table] = _check_table(table, data[table], problems)
        else:
            problems.append((table, f"table [{table}] is missing; copy it from a built-in theme"))
    if problems:
        raise ThemeLoadError(tuple(KeyIssue(source, key, msg) for key, msg in problems))
    ui, terminal, ansi = (checked[table] or {} for table in _TABLES)
    return ThemeSpec(
        name=name,
        dark=bool(ui["dark"]),
        ui={key: str(ui[key]) for key in UI_COLOUR_KEYS},
        terminal=TerminalColors(
            foreground=str(terminal["foreground"]),
            background=str(terminal["background"]),
            cursor=str(terminal["cursor"]),
            ansi=tuple(str(ansi[key]) for key in ANSI_NAMES),
        ),
        source=source,
    )


class ThemeLoadError(ConfigError):
    """A theme file that does not make a valid theme; ``issues`` lists every problem."""

    def __init__(self, issues: tuple[KeyIssue, ...]) -> None:
        self.issues = issues
        super().__init__("; ".join(str(issue) for issue in issues))


def load_theme_file(path: Path) -> ThemeSpec:
    """Read one theme file; raise ThemeLoadError (with the file named) on any problem."""
    try:
        data = load_toml_file(path)
    except ConfigFileError as error:
        raise ThemeLoadError((KeyIssue(path, "", located_reason(error)),)) from None
    except OSError as error:
        issue = KeyIssue(path, "", f"cannot be read: {error.strerror or error}")
        raise ThemeLoadError((issue,)) from None
    except tomllib.TOMLDecodeError as error:
        issue = KeyIssue(path, "", f"is not valid TOML ({error}); fix the line it names")
        raise ThemeLoadError((issue,)) from None
    return theme_from_mapping(path.stem, data, path)


def _theme_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    # Not only regular files: a FIFO or a directory named *.toml is reported, not skipped.
    return sorted(directory.glob("*.toml"))


def load_themes(builtin_dir: Path | None = None, user_dir: Path | None = None) -> ThemeCatalog:
    """Load the built-in themes, then the user's (a user theme replaces a built-in of the
    same name). Broken files are skipped and reported together in ``issues``."""
    themes: dict[str, ThemeSpec] = {}
    issues: list[KeyIssue] = []
    for directory in (
        builtin_dir or paths.builtin_themes_dir(),
        user_dir or paths.user_themes_dir(),
    ):
        for path in _theme_files(directory):
            try:
                themes[path.stem] = load_theme_file(path)
            except ThemeLoadError as error:
                issues.extend(error.issues)
    return ThemeCatalog(themes=themes, issues=tuple(issues))

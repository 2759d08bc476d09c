"""Errors of the config layer, each carrying a message that names the problem and the fix."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


class ConfigError(Exception):
    """Base class for config problems a user can fix; the CLI prints them as one line."""


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice ``word`` was most likely meant to be (a typo away), or None."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``; did you mean 'x'?`` to end a message about an unknown ``word``, or nothing."""
    match = closest(word, choices)
    return f"; did you mean {match!r}?" if match is not None else ""


@dataclass(frozen=True, slots=True)
class ProfileIssue:
    """One problem in one profile, located as precisely as the source allows."""

    source: str
    """Where the profile came from: a file path, or e.g. ``command line``."""

    line: int | None
    """1-based line in the file, when known."""

    message: str
    """What is wrong and, where it helps, how to fix it."""

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line is not None else self.source
        return f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class KeyIssue:
    """One problem in a settings or theme file, located by its key."""

    source: Path
    key: str
    """Dotted key such as ``ui.primary``; empty when the whole file is at fault."""

    message: str

    def __str__(self) -> str:
        where = f"{self.source}: {self.key}" if self.key else str(self.source)
        return f"{where}: {self.message}"


class ProfileLoadError(ConfigError):
    """A profile file (or command-line input) that does not make a valid profile."""

    def __init__(self, issues: tuple[ProfileIssue, ...]) -> None:
        self.issues = issues
        super().__init__("; ".join(str(issue) for issue in issues))


class ProfileNotFoundError(ConfigError):
    """No saved profile has this name."""


class ProfileExistsError(ConfigError):
    """A profile with this name is already saved and the caller did not ask to replace it."""

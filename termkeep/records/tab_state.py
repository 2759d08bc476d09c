"""The open tabs, remembered between runs so the next start reopens and reattaches them.

``<state dir>/tabs.toml`` lists, in tab order, each tab's profile, the tmux session it holds on
the server and its custom name. It is app state, not configuration: it is rewritten whenever
tabs change, and a file that does not read (hand-edited, truncated) is reported and ignored,
never a reason not to start.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from termkeep import paths
from termkeep.platform.files import (
    RefusedFileError,
    ensure_private_dir,
    load_toml_file,
    write_private_file,
)


@dataclass(frozen=True, slots=True)
class SavedTab:
    """One tab as it will be reopened."""

    profile: str
    tmux_session: str | None = None
    """The tmux session the tab held, so a restart reattaches that very session."""

    label: str | None = None
    """The name the user gave the tab, if any."""


def tabs_file() -> Path:
    """Where the open tabs are kept."""
    return paths.state_dir() / "tabs.toml"


def save_tabs(tabs: Sequence[SavedTab], path: Path | None = None) -> None:
    """Write the tabs atomically (0600: tab names can say what a user works on)."""
    # tomlkit (~40 ms) loads on the first save, after the first frame, not at start-up.
    import tomlkit  # noqa: PLC0415

    path = path or tabs_file()
    doc = tomlkit.document()
    doc.add(tomlkit.comment("termkeep's open tabs, rewritten as tabs open and close"))
    entries = tomlkit.aot()
    for tab in tabs:
        entry = tomlkit.table()
        entry["profile"] = tab.profile
        if tab.tmux_session:
            entry["tmux_session"] = tab.tmux_session
        if tab.label:
            entry["label"] = tab.label
        entries.append(entry)
    doc["tab"] = entries
    ensure_private_dir(path.parent)
    write_private_file(path, tomlkit.dumps(doc))


def _text_or_none(entry: dict[str, object], key: str) -> str | None:
    value = entry.get(key)
    return value if isinstance(value, str) and value else None


def load_tabs(path: Path | None = None) -> tuple[list[SavedTab], str | None]:
    """The saved tabs, and a one-line problem when the file could not be used."""
    path = path or tabs_file()
    try:
        data = load_toml_file(path)
    except FileNotFoundError:
        return [], None
    except RefusedFileError as error:
        return [], f"{error}; last session's tabs are not reopened"
    except (OSError, tomllib.TOMLDecodeError) as error:
        return [], f"{path}: cannot be read ({error}); last session's tabs are not reopened"
    entries = data.get("tab", [])
    if not isinstance(entries, list):
        return [], f"{path}: 'tab' must be a list of tables; last session's tabs are not reopened"
    tabs = [
        SavedTab(profile, _text_or_none(entry, "tmux_session"), _text_or_none(entry, "label"))
        for entry in entries
        if isinstance(entry, dict) and (profile := _text_or_none(entry, "profile"))
    ]
    return tabs, None

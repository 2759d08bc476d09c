"""Where termkeep keeps its files.

Platform defaults come from platformdirs (XDG on Linux). Two environment variables override
them, so tests, the demo and users with unusual setups never touch the real locations:
``TERMKEEP_CONFIG_DIR`` (profiles, settings, user themes) and ``TERMKEEP_STATE_DIR`` (open-tab
state, logs).
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import platformdirs

APP_NAME = "termkeep"
CONFIG_DIR_ENV = "TERMKEEP_CONFIG_DIR"
STATE_DIR_ENV = "TERMKEEP_STATE_DIR"


def config_dir() -> Path:
    """The directory holding profiles, settings and user themes."""
    override = os.environ.get(CONFIG_DIR_ENV)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def state_dir() -> Path:
    """The directory holding state that is not configuration (open tabs, logs)."""
    override = os.environ.get(STATE_DIR_ENV)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_state_dir(APP_NAME, appauthor=False))


def hosts_dir() -> Path:
    """One ``<name>.toml`` per saved host profile."""
    return config_dir() / "hosts"


def user_themes_dir() -> Path:
    """Themes the user adds; a user theme with a built-in theme's name replaces it."""
    return config_dir() / "themes"


def settings_file() -> Path:
    """App-wide settings (prefix key, keymap, default theme)."""
    return config_dir() / "settings.toml"


def logs_dir() -> Path:
    """Log files. Logs never contain passwords or passphrases."""
    return state_dir() / "logs"


def connection_history_file() -> Path:
    """Every drop of every session, as JSON lines (``termkeep history`` prints it)."""
    return state_dir() / "connections.jsonl"


def builtin_themes_dir() -> Path:
    """The themes that ship with termkeep.

    An installed wheel carries them as ``termkeep/themes``; a source checkout (an editable
    install) keeps them in the top-level ``themes/`` next to the package.
    """
    packaged = Path(str(resources.files("termkeep") / "themes"))
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "themes"


LOCATIONS = {
    "config": config_dir,
    "hosts": hosts_dir,
    "themes": user_themes_dir,
    "state": state_dir,
    "logs": logs_dir,
    "history": connection_history_file,
}
"""What ``termkeep locate NAME`` prints, by name."""

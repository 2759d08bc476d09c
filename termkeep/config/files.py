"""Reading the user's config files without trusting them: profiles, settings, themes.

The checks themselves (a regular file only, at most ``MAX_CONFIG_BYTES``, UTF-8, TOML nesting
bounded) are ``platform.files``'; here a refusal becomes a ``ConfigFileError``, so the CLI
prints it as one config problem, and one bad file is one line while the other files still
load.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from termkeep.config.errors import ConfigError
from termkeep.platform import files
from termkeep.platform.files import MAX_CONFIG_BYTES, RefusedFileError


class ConfigFileError(ConfigError):
    """A config file that is refused as a whole: not a regular file, too big, not UTF-8 or
    nested too deep."""

    def __init__(self, path: Path, reason: str, line: int | None = None) -> None:
        self.path = path
        self.reason = reason
        """What is wrong and how to fix it, without the file's name."""
        self.line = line
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {reason}")


def located_reason(error: ConfigFileError) -> str:
    """The reason with its line, for messages that name the file separately."""
    return f"line {error.line}: {error.reason}" if error.line is not None else error.reason


def _as_config_error[T](read: Callable[[], T]) -> T:
    try:
        return read()
    except RefusedFileError as error:
        raise ConfigFileError(error.path, error.reason, error.line) from None


def read_config_bytes(path: Path, limit: int = MAX_CONFIG_BYTES) -> bytes:
    """The bytes of the regular file ``path`` (at most ``limit``).

    Raises ConfigFileError for anything else, FileNotFoundError when there is no file, and
    other OSErrors (no permission) as they come.
    """
    return _as_config_error(lambda: files.read_regular_bytes(path, limit))


def read_config_text(path: Path, limit: int = MAX_CONFIG_BYTES) -> str:
    """The UTF-8 text of the regular file ``path``; see ``read_config_bytes``."""
    return _as_config_error(lambda: files.read_regular_text(path, limit))


def parse_toml(path: Path, text: str) -> dict[str, Any]:
    """``tomllib.loads(text)`` after the nesting check (ConfigFileError when too deep);
    TOMLDecodeError as tomllib raises it."""
    return _as_config_error(lambda: files.parse_toml(path, text))


def load_toml_file(path: Path) -> dict[str, Any]:
    """Read and parse the TOML file ``path`` with every check of ``platform.files``."""
    return _as_config_error(lambda: files.load_toml_file(path))

"""Saved host profiles on disk: one TOML file per host, ``<config dir>/hosts/<name>.toml``.

Reading never changes a file, and one bad file never hides the others: ``load_all`` returns
the good profiles and a list of per-file problems. Writing is atomic, files are 0600, and an
edit goes through the file's own tomlkit document so the user's comments survive.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from termkeep import paths
from termkeep.config.errors import (
    ConfigError,
    ProfileExistsError,
    ProfileIssue,
    ProfileLoadError,
    ProfileNotFoundError,
)
from termkeep.config.files import ConfigFileError, parse_toml, read_config_text
from termkeep.config.profile import InvalidProfileNameError, Profile, validate_profile_name
from termkeep.config.profile_document import new_document, update_document
from termkeep.config.schema import (
    FORWARDS_KEY,
    KEYS,
    LEGACY_FORWARDS_KEY,
    SECTIONS,
    check_profile,
    key_line_finder,
    profile_from_mapping,
)
from termkeep.platform.files import ensure_private_dir, fsync_dir, write_private_file

PROFILE_SUFFIX = ".toml"


@dataclass(frozen=True, slots=True)
class StoredProfile:
    """A profile together with where it lives and which keys its file sets explicitly."""

    profile: Profile
    path: Path
    explicit_keys: frozenset[str]
    """Dotted keys written in the file; every other value is a default."""


@dataclass(slots=True)
class LoadResult:
    """What ``ProfileStore.load_all`` found: the good profiles and the problems of the rest."""

    profiles: list[Profile] = field(default_factory=list)
    errors: list[ProfileIssue] = field(default_factory=list)


_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")


def _toml_syntax_issue(path: Path, error: tomllib.TOMLDecodeError) -> ProfileIssue:
    """Turn tomllib's message, which ends in '(at line N, column M)', into a located issue."""
    message = str(error)
    match = _TOML_POSITION.search(message)
    if not match:
        return ProfileIssue(str(path), None, f"broken TOML: {message}; fix the file")
    detail = message[: match.start()]
    line, column = int(match.group(1)), int(match.group(2))
    return ProfileIssue(str(path), line, f"broken TOML at column {column}: {detail}; fix this line")


def _explicit_keys(data: dict[str, object]) -> frozenset[str]:
    keys: set[str] = set()
    for key, value in data.items():
        if key in SECTIONS and isinstance(value, dict):
            keys.update(f"{key}.{sub}" for sub in value if f"{key}.{sub}" in KEYS)
        elif key in KEYS:
            keys.add(key)
        elif key == LEGACY_FORWARDS_KEY:
            keys.add(FORWARDS_KEY)  # the old notation of the same key
    return frozenset(keys)


class ProfileStore:
    """The saved profiles in one directory (by default ``paths.hosts_dir()``)."""

    def __init__(self, directory: Path | None = None) -> None:
        self._directory = directory

    @property
    def directory(self) -> Path:
        """The hosts directory; resolved on each use so TERMKEEP_CONFIG_DIR changes apply."""
        return self._directory if self._directory is not None else paths.hosts_dir()

    def path_for(self, name: str) -> Path:
        """The file of profile ``name``; raises InvalidProfileNameError for an unusable name."""
        return self.directory / f"{validate_profile_name(name)}{PROFILE_SUFFIX}"

    def names(self) -> list[str]:
        """Names of the saved profiles, sorted; hidden files (temp files) are not profiles."""
        if not self.directory.is_dir():
            return []
        return sorted(
            entry.name.removesuffix(PROFILE_SUFFIX)
            for entry in self.directory.iterdir()
            if entry.name.endswith(PROFILE_SUFFIX) and not entry.name.startswith(".")
        )

    def exists(self, name: str) -> bool:
        """Whether a profile file with this name exists."""
        return self.path_for(name).is_file()

    def read(self, name: str) -> StoredProfile:
        """Load one profile with its file details; raises ProfileNotFoundError/ProfileLoadError."""
        path = self.path_for(name)
        try:
            text = read_config_text(path)
            data = parse_toml(path, text)
        except FileNotFoundError:
            raise ProfileNotFoundError(
                f"no profile named {name!r} in {self.directory}; see 'termkeep hosts list'"
            ) from None
        except ConfigFileError as error:
            raise ProfileLoadError((ProfileIssue(str(path), error.line, error.reason),)) from None
        except tomllib.TOMLDecodeError as error:
            raise ProfileLoadError((_toml_syntax_issue(path, error),)) from None
        profile = profile_from_mapping(name, data, str(path), key_line_finder(text))
        return StoredProfile(profile, path, _explicit_keys(data))

    def load(self, name: str) -> Profile:
        """Load one profile; raises ProfileNotFoundError or ProfileLoadError."""
        return self.read(name).profile

    def load_all(self) -> LoadResult:
        """Every loadable profile, plus one or more issues per file that could not be loaded."""
        result = LoadResult()
        for name in self.names():
            try:
                result.profiles.append(self.load(name))
            except InvalidProfileNameError as error:
                where = str(self.directory / f"{name}{PROFILE_SUFFIX}")
                result.errors.append(ProfileIssue(where, None, f"{error}; rename the file"))
            except ProfileLoadError as error:
                result.errors.extend(error.issues)
            except OSError as error:
                where = str(self.directory / f"{name}{PROFILE_SUFFIX}")
                result.errors.append(ProfileIssue(where, None, f"cannot read: {error.strerror}"))
        return result

    def save(
        self, profile: Profile, *, replace: bool = False, keys: Collection[str] | None = None
    ) -> Path:
        """Write ``profile`` to its file and return the path.

        A new file gets only the values that differ from the defaults; with ``keys`` (an
        editor's form) the file sets exactly those keys, others return to their defaults
        (``profile_document.update_document``). An existing file is
        only written with ``replace=True``; then its own document is updated in place (see
        ``profile_document.update_document``), keeping comments and layout. An existing file
        that does not load cleanly is never rewritten. A profile file that is a symlink (e.g. into a
        dotfiles repository) stays one: the file it points to is updated.
        """
        path = self.path_for(profile.name)
        check_profile(profile, source=str(path))
        exists = path.exists()
        if exists and not replace:
            raise self._exists_error(profile.name, path)
        import tomlkit  # noqa: PLC0415 - ~40 ms, needed only to write: reading never pays

        if exists:
            self._refuse_if_broken(profile.name)
            doc = tomlkit.parse(read_config_text(path))
        else:
            doc = new_document()
        target = path.resolve() if path.is_symlink() else path
        try:
            write_private_file(
                target, tomlkit.dumps(update_document(doc, profile, keys)), replace=exists
            )
        except FileExistsError:
            raise self._exists_error(profile.name, path) from None  # created meanwhile
        except OSError as error:
            unchanged = "the previous file is unchanged" if exists else "nothing was saved"
            raise ConfigError(f"cannot write {path}: {error.strerror}; {unchanged}") from None
        return path

    @staticmethod
    def _exists_error(name: str, path: Path) -> ProfileExistsError:
        return ProfileExistsError(
            f"profile {name!r} already exists ({path}); choose another name or allow replacing it"
        )

    def _refuse_if_broken(self, name: str) -> None:
        from tomlkit.exceptions import TOMLKitError  # noqa: PLC0415 - only for writing

        try:
            self.read(name)
        except ProfileLoadError as error:
            raise ConfigError(
                f"{error}; not overwriting a file that does not load: fix it or "
                f"'termkeep hosts rm {name}' first"
            ) from None
        except TOMLKitError as error:  # pragma: no cover - tomllib rejects these first
            raise ConfigError(f"{self.path_for(name)}: {error}") from None

    def delete(self, name: str) -> None:
        """Remove a profile file; raises ProfileNotFoundError if there is none."""
        path = self.path_for(name)
        try:
            path.unlink()
        except FileNotFoundError:
            raise ProfileNotFoundError(
                f"no profile named {name!r} in {self.directory}; see 'termkeep hosts list'"
            ) from None
        fsync_dir(path.parent)

    def rename(self, old: str, new: str) -> Path:
        """Rename a profile file without ever replacing another profile.

        A profile without an explicit ``[tmux] session`` attaches ``termkeep-<name>``
        (``profile.default_tmux_session``), so
        after a rename it attaches a different tmux session; set ``session`` first to keep
        the old one.
        """
        source, target = self.path_for(old), self.path_for(new)
        if not source.is_file():
            raise ProfileNotFoundError(f"no profile named {old!r}; see 'termkeep hosts list'")
        ensure_private_dir(target.parent)
        try:
            # link() fails if the target exists, so a concurrent save is never clobbered.
            os.link(source, target)
        except FileExistsError:
            raise ProfileExistsError(
                f"profile {new!r} already exists; remove it or pick another name"
            ) from None
        source.unlink()
        fsync_dir(target.parent)
        return target

"""What importers produce and how their result is saved: plain data any front end can show.

An importer (PuTTY sessions, ssh_config) reads its source into an ``ImportPlan``: candidate
profiles, each with notes for the user, plus entries it skipped and why. ``save_plan`` then
writes the candidates through a ProfileStore and returns an ``ImportReport``. Splitting the
two keeps importers free of disk writes (easy to test, previewable) and gives the CLI and the
UI the same report.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from termkeep.config.errors import ConfigError, ProfileExistsError, ProfileLoadError
from termkeep.config.profile import (
    PROFILE_NAME_MAX,
    InvalidProfileNameError,
    Profile,
    is_valid_profile_name,
    sanitize_profile_name,
    validate_profile_name,
)
from termkeep.config.schema import check_profile
from termkeep.config.store import ProfileStore


@dataclass(frozen=True, slots=True)
class ImportedEntry:
    """A source entry that became a profile."""

    source: str
    """The entry as the source names it, e.g. a PuTTY session name or a Host alias."""

    profile: Profile
    notes: tuple[str, ...] = ()
    """Things the user should know: a renamed profile, a key to convert, an ignored option."""


@dataclass(frozen=True, slots=True)
class SkippedEntry:
    """A source entry that did not become a profile, and why."""

    source: str
    reason: str


@dataclass(slots=True)
class ImportPlan:
    """What an importer read, before anything is written."""

    origin: str
    """The file or directory that was read."""

    entries: list[ImportedEntry] = field(default_factory=list)
    skipped: list[SkippedEntry] = field(default_factory=list)


@dataclass(slots=True)
class ImportReport:
    """What an import did: profiles written, and entries skipped with their reasons."""

    origin: str
    imported: list[ImportedEntry] = field(default_factory=list)
    skipped: list[SkippedEntry] = field(default_factory=list)


class NameAllocator:
    """Turns source names into valid, distinct profile names within one import.

    A source name that is already a valid profile name keeps it, even when an earlier entry
    would sanitize to the same name (``web/prod`` does not take ``web-prod`` from a session
    that is really called ``web-prod``).
    """

    def __init__(self, source_names: Iterable[str] = ()) -> None:
        self._taken: set[str] = set()
        self._reserved = {name for name in source_names if is_valid_profile_name(name)}

    def allocate(self, source_name: str) -> tuple[str, list[str]]:
        """A profile name for ``source_name`` plus a note explaining any change to it."""
        reasons: list[str] = []
        try:
            name = validate_profile_name(source_name)
        except InvalidProfileNameError as error:
            name = sanitize_profile_name(source_name)
            reasons.append(str(error))
        if name in self._taken or (name in self._reserved and name != source_name):
            reasons.append(f"{name!r} is already used by another entry")
            name = self._next_free(name)
        self._taken.add(name)
        notes = [f"saved as {name!r}: {'; '.join(reasons)}"] if reasons else []
        return name, notes

    def release(self, name: str) -> None:
        """Give a name back, e.g. when its entry turned out to be unusable."""
        self._taken.discard(name)

    def _next_free(self, name: str) -> str:
        for number in range(2, len(self._taken) + len(self._reserved) + 3):
            suffix = f"-{number}"
            candidate = f"{name[: PROFILE_NAME_MAX - len(suffix)]}{suffix}"
            if candidate not in self._taken and candidate not in self._reserved:
                return candidate
        raise AssertionError("unreachable: fewer names are taken than candidates tried")


def profile_problem(profile: Profile) -> str | None:
    """Why an imported profile could not be saved (a value out of range), or None."""
    try:
        check_profile(profile, source=profile.name)
    except ProfileLoadError as error:
        return "; ".join(issue.message for issue in error.issues)
    return None


def save_plan(store: ProfileStore, plan: ImportPlan, *, overwrite: bool) -> ImportReport:
    """Write the plan's profiles; existing ones are kept unless ``overwrite`` is set."""
    report = ImportReport(plan.origin, skipped=list(plan.skipped))
    for entry in plan.entries:
        try:
            store.save(entry.profile, replace=overwrite)
        except ProfileExistsError:
            reason = f"profile {entry.profile.name!r} already exists; use --overwrite to replace it"
            report.skipped.append(SkippedEntry(entry.source, reason))
        except ConfigError as error:
            report.skipped.append(SkippedEntry(entry.source, str(error)))
        else:
            report.imported.append(entry)
    return report

"""Which tmux sessions on a host termkeep made for a profile: the commands, their output.

Pure (no asyncssh), so the ui can import the types without loading the SSH stack;
``termkeep.transport.remote_sessions`` runs the commands over a real connection.

A profile's tabs hold ``BASE`` (the profile's sanitised tmux session name), and a second,
third, … tab on the same profile holds ``BASE-2``, ``BASE-3``, … (see the ui's
``with_free_tmux_session``). Those names, and only those, count as the profile's.

Before default names were made distinct (``config.profile.default_tmux_session``), profiles
``a.b``, ``a_b`` and ``a:b`` all got ``termkeep-a_b``. Such an old name still counts as a
profile's, and its first tab's attach renames it to the new name (``adopt`` of
``tmux.reporting_attach_command``), unless another saved profile for the same login claims
it: the one whose name is exactly the old name (``a_b``) keeps it, and when only profiles
that were rewritten claim it (``a.b`` and ``a:b``), none takes it.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from termkeep.config.profile import TMUX_SESSION_DEFAULT_PREFIX, Profile
from termkeep.transport import tmux

FIELD_SEPARATOR = "|"
"""Printable, because tmux without a UTF-8 locale prints control characters (a tab) as
``_``. Names are split off from the right, so a ``|`` inside a name does no harm."""

LIST_FORMAT = FIELD_SEPARATOR.join(
    ("#{session_name}", "#{session_created}", "#{session_attached}", "#{session_windows}")
)

LIST_FAILED_NO_TMUX = tmux.ProbeResult.NO_TMUX.value

# What tmux says (exit 1) when there is no server to ask: no socket, or a stale one.
_NO_SERVER_MESSAGES = ("no server running", "error connecting to")


@dataclass(frozen=True, slots=True)
class RemoteTmuxSession:
    """One tmux session on the host, as ``tmux list-sessions`` describes it."""

    name: str
    created: datetime
    """When the session was made (UTC)."""
    attached: int
    """How many tmux clients are attached now (a tab elsewhere, a user's own terminal)."""
    windows: int


@dataclass(frozen=True, slots=True)
class SessionListing:
    """termkeep's tmux sessions for one profile on its host."""

    sessions: tuple[RemoteTmuxSession, ...]
    """Oldest first (same second: in tab number order)."""
    tmux_installed: bool = True
    """False when the host has no tmux (then ``sessions`` is empty)."""


class TmuxCommandError(Exception):
    """tmux on the host refused a command; the message is tmux's own words."""


def profile_session_base(profile: Profile) -> str:
    """The tmux session name a profile's first tab attaches, as it is on the host."""
    return tmux.sanitize_session_name(profile.tmux_session_name)


def legacy_session_base(profile: Profile) -> str | None:
    """The first-tab session name an older termkeep gave ``profile``, when it differs from
    today's (a profile name with characters outside ``[A-Za-z0-9_-]``, no ``session`` set)."""
    if profile.tmux.session is not None:
        return None
    legacy = tmux.sanitize_session_name(f"{TMUX_SESSION_DEFAULT_PREFIX}-{profile.name}")
    return None if legacy == profile_session_base(profile) else legacy


def adoptable_legacy_base(profile: Profile, saved: Iterable[Profile]) -> str | None:
    """``profile``'s old session name if it may take that session: no other saved profile
    for the same login (user, host, port) has it as its name today, or had it too."""
    legacy = legacy_session_base(profile)
    if legacy is None:
        return None
    login = (profile.user, profile.host, profile.port)
    for other in saved:
        if other.name == profile.name or (other.user, other.host, other.port) != login:
            continue
        if legacy in (profile_session_base(other), legacy_session_base(other)):
            return None
    return legacy


def tab_number(profile: Profile, name: str, legacy: str | None = None) -> int | None:
    """1 for the profile's own tmux session, N for ``BASE-N`` (N >= 2, exactly as the ui
    numbers extra tabs), None for a session termkeep did not make for ``profile``. With
    ``legacy`` (``adoptable_legacy_base``), the old names count too."""
    for base in (profile_session_base(profile), legacy):
        if base is None:
            continue
        if name == base:
            return 1
        number = name.removeprefix(f"{base}-")
        if number != name and re.fullmatch(r"[2-9]|[1-9][0-9]+", number):
            return int(number)
    return None


def is_profile_session(profile: Profile, name: str, legacy: str | None = None) -> bool:
    """Whether termkeep made the tmux session ``name`` for ``profile``."""
    return tab_number(profile, name, legacy) is not None


def list_command() -> str:
    """Prints one line per tmux session (``LIST_FORMAT``); exit 127 without tmux."""
    script = "; ".join(
        (
            f"command -v tmux >/dev/null 2>&1 || exit {LIST_FAILED_NO_TMUX}",
            tmux.shell_words("exec", "tmux", "list-sessions", "-F", LIST_FORMAT),
        )
    )
    return tmux.remote_command(script)


def kill_command(name: str) -> str:
    """Kills exactly the session ``name`` (``=``: no prefix match), quoted for any shell."""
    return tmux.remote_command(tmux.shell_words("tmux", "kill-session", "-t", f"={name}"))


def is_no_server(exit_status: int | None, stderr: str) -> bool:
    """tmux's answer when no tmux server runs: there are no sessions at all."""
    return exit_status == 1 and any(message in stderr for message in _NO_SERVER_MESSAGES)


def parse_session_line(line: str) -> RemoteTmuxSession | None:
    """One ``LIST_FORMAT`` line, or None for a line that is not one."""
    parts = line.rsplit(FIELD_SEPARATOR, 3)
    if len(parts) != 4:
        return None
    name, created, attached, windows = parts
    if not (created.isdigit() and attached.isdigit() and windows.isdigit()):
        return None
    return RemoteTmuxSession(
        name=name,
        created=datetime.fromtimestamp(int(created), UTC),
        attached=int(attached),
        windows=int(windows),
    )


def claimed_by_others(profile: Profile, saved: Iterable[Profile]) -> frozenset[str]:
    """The first-tab session names of the other saved profiles for the same login
    (user, host, port): profile ``web``'s ``termkeep-web-2`` could just as well be profile
    ``web-2``'s ``termkeep-web-2``, and is then left to ``web-2``."""
    login = (profile.user, profile.host, profile.port)
    return frozenset(
        profile_session_base(other)
        for other in saved
        if other.name != profile.name and (other.user, other.host, other.port) == login
    )


def profile_sessions(
    profile: Profile, output: str, claimed: Collection[str] = (), legacy: str | None = None
) -> tuple[RemoteTmuxSession, ...]:
    """The sessions in ``list-sessions`` output that termkeep made for ``profile``, except
    the names in ``claimed`` (see ``claimed_by_others``); ``legacy`` as in ``tab_number``."""
    parsed = (parse_session_line(line) for line in output.splitlines())
    ours = [
        s
        for s in parsed
        if s is not None and is_profile_session(profile, s.name, legacy) and s.name not in claimed
    ]
    return tuple(
        sorted(
            ours, key=lambda session: (session.created, tab_number(profile, session.name, legacy))
        )
    )


def unheld(listing: SessionListing, held: Iterable[str | None]) -> tuple[RemoteTmuxSession, ...]:
    """The listed sessions that no open tab holds (``held``: the tabs' tmux session names,
    before or after sanitising)."""
    taken = {tmux.sanitize_session_name(name) for name in held if name is not None}
    return tuple(session for session in listing.sessions if session.name not in taken)

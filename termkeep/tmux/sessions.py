"""The tmux sessions termkeep made for a profile on its host: list them, kill one.

The commands and the parsing of their output are pure; ``RemoteSessions`` runs them over a
fresh connection of their own (``SshConnector.command_link``: the same jump hosts, host key
policy, auth and prompts as a tab's attach), one quick command without a PTY each, and
closes it. Nothing here touches a tab's own connection. Which names count as a profile's is
names.py's business.

The SSH stack (asyncssh) loads only when a host is really asked, so the ui imports the types
here at start-up for free.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from termkeep.config.profile import Profile
from termkeep.tmux.attach import ProbeResult
from termkeep.tmux.names import is_profile_session, sanitize_session_name, tab_number
from termkeep.tmux.shell import exact_target, remote_command, shell_words
from termkeep.transport.link import ConnectFailedError, SideChannelError
from termkeep.transport.prompts import Prompter

if TYPE_CHECKING:
    from termkeep.transport.ssh.hops import ProfileLookup

FIELD_SEPARATOR = "|"
"""Printable, because tmux without a UTF-8 locale prints control characters (a tab) as
``_``. Names are split off from the right, so a ``|`` inside a name does no harm."""

LIST_FORMAT = FIELD_SEPARATOR.join(
    ("#{session_name}", "#{session_created}", "#{session_attached}", "#{session_windows}")
)

LIST_FAILED_NO_TMUX = ProbeResult.NO_TMUX.value

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


def list_command() -> str:
    """Prints one line per tmux session (``LIST_FORMAT``); exit 127 without tmux."""
    script = "; ".join(
        (
            f"command -v tmux >/dev/null 2>&1 || exit {LIST_FAILED_NO_TMUX}",
            shell_words("exec", "tmux", "list-sessions", "-F", LIST_FORMAT),
        )
    )
    return remote_command(script)


def kill_command(name: str) -> str:
    """Kills exactly the session ``name`` (``=``: no prefix match), quoted for any shell."""
    return remote_command(shell_words("tmux", "kill-session", "-t", exact_target(name)))


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
    taken = {sanitize_session_name(name) for name in held if name is not None}
    return tuple(session for session in listing.sessions if session.name not in taken)


class RemoteSessions:
    """termkeep's tmux sessions for one profile on its host."""

    def __init__(
        self,
        profile: Profile,
        prompter: Prompter,
        *,
        lookup_profile: ProfileLookup | None = None,
        ssh_config: Sequence[Path] | None = None,
        claimed: Collection[str] = (),
        legacy: str | None = None,
    ) -> None:
        self.profile = profile
        self.claimed = frozenset(claimed)
        """Names left out of the listing although they fit the profile's pattern: the
        first-tab sessions of other profiles on the same login (``claimed_by_others``)."""
        self.legacy = legacy
        """The profile's old session name, listed too (``adoptable_legacy_base``)."""
        # asyncssh loads here, when a host is really asked, not with the ui that imports this.
        from termkeep.transport.ssh.connector import SshConnector  # noqa: PLC0415

        # One connector for both calls, so a host key accepted once for the listing is not
        # asked again for a kill.
        self._connector = SshConnector(
            profile, prompter, lookup_profile=lookup_profile, ssh_config=ssh_config
        )

    async def list(self) -> SessionListing:
        """The profile's sessions, oldest first; empty when no tmux server runs, empty with
        ``tmux_installed`` False when the host has no tmux.

        Raises ``ConnectFailedError`` (cannot connect or log in) or ``TmuxCommandError``.
        """
        status, stdout, stderr = await self._run(list_command())
        if status == LIST_FAILED_NO_TMUX:
            return SessionListing((), tmux_installed=False)
        if is_no_server(status, stderr):
            return SessionListing(())
        if status != 0:
            raise TmuxCommandError(_tmux_words(stderr, status))
        return SessionListing(profile_sessions(self.profile, stdout, self.claimed, self.legacy))

    async def kill(self, name: str) -> None:
        """Kill the tmux session ``name``, which must be one termkeep made for this profile
        (ValueError otherwise: nothing else on the host is ever touched).

        Raises ``ConnectFailedError`` or ``TmuxCommandError`` (e.g. it is already gone).
        """
        if not is_profile_session(self.profile, name, self.legacy):
            raise ValueError(
                f"{name!r} is not a tmux session termkeep made for {self.profile.name}: "
                "only those can be killed from here"
            )
        status, _, stderr = await self._run(kill_command(name))
        if status != 0:
            raise TmuxCommandError(_tmux_words(stderr, status))

    async def _run(self, command: str) -> tuple[int | None, str, str]:
        """(exit status, stdout, stderr) of ``command`` on a fresh connection."""
        timeout = self.profile.reconnect.connect_timeout
        try:
            async with self._connector.command_link() as link:
                result = await link.run(command, timeout=timeout)
        except SideChannelError as exc:
            raise ConnectFailedError(exc.cause, exc.detail) from exc
        return result.exit_status, _text(result.stdout), _text(result.stderr)


def _text(output: bytes) -> str:
    return output.decode(errors="replace")


def _tmux_words(stderr: str, status: int | None) -> str:
    """tmux's complaint in one line, or the exit status when it said nothing."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return lines[-1] if lines else f"tmux exited with status {status}"


async def list_sessions(
    profile: Profile, prompter: Prompter, *, lookup_profile: ProfileLookup | None = None
) -> SessionListing:
    """The tmux sessions termkeep made for ``profile`` (see ``RemoteSessions.list``)."""
    return await RemoteSessions(profile, prompter, lookup_profile=lookup_profile).list()


async def kill_session(
    profile: Profile,
    name: str,
    prompter: Prompter,
    *,
    lookup_profile: ProfileLookup | None = None,
) -> None:
    """Kill one of ``profile``'s tmux sessions (see ``RemoteSessions.kill``)."""
    await RemoteSessions(profile, prompter, lookup_profile=lookup_profile).kill(name)

"""List and kill the tmux sessions termkeep made for a profile, over a fresh connection.

Each call opens its own connection through ``SshConnector.command_connection`` (the same
jump hosts, host key policy, auth and prompts as a tab's attach), runs one quick command
without a PTY, and closes it. Nothing here touches a tab's own connection.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

import asyncssh

from termkeep.config.profile import Profile
from termkeep.transport import tmux_sessions
from termkeep.transport.classify import connect_failed
from termkeep.transport.connection import ProfileLookup, SshConnector
from termkeep.transport.prompts import Prompter
from termkeep.transport.tmux_sessions import SessionListing, TmuxCommandError


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
        status, stdout, stderr = await self._run(tmux_sessions.list_command())
        if status == tmux_sessions.LIST_FAILED_NO_TMUX:
            return SessionListing((), tmux_installed=False)
        if tmux_sessions.is_no_server(status, stderr):
            return SessionListing(())
        if status != 0:
            raise TmuxCommandError(_tmux_words(stderr, status))
        return SessionListing(
            tmux_sessions.profile_sessions(self.profile, stdout, self.claimed, self.legacy)
        )

    async def kill(self, name: str) -> None:
        """Kill the tmux session ``name``, which must be one termkeep made for this profile
        (ValueError otherwise: nothing else on the host is ever touched).

        Raises ``ConnectFailedError`` or ``TmuxCommandError`` (e.g. it is already gone).
        """
        if not tmux_sessions.is_profile_session(self.profile, name, self.legacy):
            raise ValueError(
                f"{name!r} is not a tmux session termkeep made for {self.profile.name}: "
                "only those can be killed from here"
            )
        status, _, stderr = await self._run(tmux_sessions.kill_command(name))
        if status != 0:
            raise TmuxCommandError(_tmux_words(stderr, status))

    async def _run(self, command: str) -> tuple[int | None, str, str]:
        """(exit status, stdout, stderr) of ``command`` on a fresh connection."""
        timeout = self.profile.reconnect.connect_timeout
        try:
            async with self._connector.command_connection() as conn:
                result = await conn.run(
                    command,
                    check=False,
                    request_pty=False,
                    timeout=timeout,
                    encoding="utf-8",
                    errors="replace",
                )
        except (asyncssh.Error, OSError, TimeoutError) as exc:
            raise connect_failed(exc) from exc
        return result.exit_status, _text(result.stdout), _text(result.stderr)


def _text(output: str | bytes | None) -> str:
    if output is None:
        return ""
    return output if isinstance(output, str) else output.decode(errors="replace")


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

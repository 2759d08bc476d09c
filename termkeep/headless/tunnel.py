"""`termkeep tunnel PROFILE...`: the profiles' forwards and nothing else, kept up for good.

No shell, no PTY, no tmux: one SSH connection per profile carrying its forwards, reconnected
like a tab (same supervisor, same keepalive and TCP tuning), with the local ports bound once
for the whole run. It is the drop-in replacement for ``autossh -M 0 -N -L ...``.

Each change is one line on stderr, prefixed with the profile's name: listeners, the link
going down and why, coming back and how long it took, a forward failing and why. Exit codes
follow ``ssh -N``: it runs until stopped; 255 when stopped by a signal, when a profile cannot
connect without a person (authentication, host key), or, with ``--exit-on-forward-failure``
(ssh's ExitOnForwardFailure), when a forward cannot be set up.
"""

from __future__ import annotations

from collections.abc import Sequence

from termkeep import paths
from termkeep.config.profile import Profile
from termkeep.config.store import ProfileStore
from termkeep.platform.tty import STDERR_FD, write_fully
from termkeep.session.core import SessionCore
from termkeep.session.stop import EXIT_GAVE_UP, HeadlessRun
from termkeep.supervisor.phase import Phase
from termkeep.supervisor.state import Status
from termkeep.supervisor.updates import Notice, Update
from termkeep.terminal.ssh_text import ssh_visible
from termkeep.transport.prompts import TerminalPrompter
from termkeep.transport.tunnels import Tunnel, TunnelState

_GIVE_UP_STATES = {Phase.NEEDS_USER, Phase.FAILED}
PREFIX = "[termkeep]"


class _ProfileTunnels:
    """One profile's connection and forwards (a session core without a shell), printing
    its changes."""

    def __init__(self, profile: Profile, store: ProfileStore, run: TunnelRun) -> None:
        self.profile = profile
        self._run = run
        self.core = SessionCore(
            profile,
            TerminalPrompter(),
            screen=_ignore,
            store=store,
            shell=False,
            # Drops go into the connection history like a tab's (termkeep history prints them).
            history_file=paths.connection_history_file(),
            on_tunnel_event=self._tunnel_event,
        )
        self.core.on_update(self._on_update)

    def _say(self, text: str) -> None:
        self._run.say(f"{self.profile.name}: {text}")

    def _tunnel_event(self, tunnel: Tunnel, text: str, _notable: bool) -> None:
        self._say(f"{tunnel.forward.flag}: {text}")
        if self._run.exit_on_forward_failure and tunnel.state is TunnelState.FAILED:
            self._run.finish(EXIT_GAVE_UP, f"{self.profile.name}: a forward failed; exiting")

    def _on_update(self, update: Update) -> None:
        if isinstance(update, Notice):
            self._say(update.text)
        elif isinstance(update, Status) and update.state in _GIVE_UP_STATES:
            self._run.finish(EXIT_GAVE_UP, f"{self.profile.name}: {update.describe()}")


def _ignore(_data: bytes) -> None:
    """A bare connection has no channel: nothing ever arrives here."""


class TunnelRun:
    """Every profile of one ``termkeep tunnel`` command."""

    def __init__(
        self,
        profiles: Sequence[Profile],
        store: ProfileStore,
        *,
        exit_on_forward_failure: bool = False,
        out_fd: int = STDERR_FD,
    ) -> None:
        self.exit_on_forward_failure = exit_on_forward_failure
        self._out_fd = out_fd
        self._run = HeadlessRun(self.say)
        for profile in profiles:
            self._run.add(_ProfileTunnels(profile, store, self).core)

    def say(self, line: str) -> None:
        """One line on stderr; it may quote a server, so it is shown with ssh's rules. A
        stderr that is gone (closed terminal, ``| head -1``) drops it."""
        write_fully(self._out_fd, f"{PREFIX} {ssh_visible(line)}\n".encode())

    def finish(self, code: int, message: str) -> None:
        self._run.finish(code, message)

    async def run(self) -> int:
        """Keep every profile's forwards up until a signal or a give-up; the exit code."""
        return await self._run.run()


async def tunnel(
    profiles: Sequence[Profile], store: ProfileStore, *, exit_on_forward_failure: bool
) -> int:
    """Run ``termkeep tunnel`` for ``profiles``."""
    return await TunnelRun(profiles, store, exit_on_forward_failure=exit_on_forward_failure).run()

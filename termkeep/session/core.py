"""The session core: everything that keeps one connection, for a tab, ``termkeep attach``
and ``termkeep tunnel`` alike.

A ``SessionCore`` owns the supervisor (keeps the SSH link attached), the connection
history recorder, the session log, the forwards and the side services (the tmux pane's
scrollback). It is assembled here only, started in one order and closed in one order:

- start: the session log (if asked), the forwards' local listeners (bound before the first
  connect ends, so a client can connect at once), the connection history's ``open``
  record, then the supervisor;
- close: the forwards, the session log, the connection history's totals, the side
  services ("while you were away", the scrollback), then the supervisor; each even if the
  one before failed.

Where the remote's bytes go is the owner's ``screen``: a tab's emulator, the local terminal
of ``termkeep attach``, or nowhere for a tunnel. The core counts them and logs them on the
way. How a headless command stops (signals, an output that is gone, a prompt still open)
is ``session.stop``'s ``HeadlessRun``, which runs cores.
"""

from __future__ import annotations

import inspect
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Literal

from termkeep.config.profile import Profile
from termkeep.config.settings import DEFAULT_LOG_PATTERN, LogMode
from termkeep.config.store import ProfileStore
from termkeep.records.connection_history import ConnectionHistory, HistoryJournal
from termkeep.session.away import AwayWatch
from termkeep.session.output_log import OutputLog
from termkeep.session.recorder import ConnectionRecorder
from termkeep.session.scrollback import RemoteScrollback
from termkeep.session.tunnels import TunnelsOnLink
from termkeep.supervisor.state import Policy, Status
from termkeep.supervisor.supervisor import Listener, Supervisor
from termkeep.tmux.attach import PlainAttach
from termkeep.tmux.names import adoptable_legacy_base, claimed_by_others, profile_session_base
from termkeep.tmux.sessions import RemoteSessions
from termkeep.transport.link import DataSink
from termkeep.transport.prompts import Prompter
from termkeep.transport.ssh.connector import SshConnector
from termkeep.transport.tunnels import Tunnel, TunnelSet

type TunnelEvent = Callable[[Tunnel, str, bool], None]
"""Told of a forward's change: the tunnel, the words for it, and whether it is notable."""


def profile_lookup(store: ProfileStore) -> Callable[[str], Profile | None]:
    """Find a jump host's profile by name; a name that is not a profile means ``host``."""

    def lookup(name: str) -> Profile | None:
        return store.load(name) if store.exists(name) else None

    return lookup


def build_supervisor(
    profile: Profile,
    prompter: Prompter,
    *,
    on_data: DataSink,
    size: tuple[int, int],
    store: ProfileStore | None = None,
    session: bool = True,
    history_limit: int | None = None,
    attach: PlainAttach | Literal["profile"] | None = "profile",
) -> Supervisor:
    """A supervisor that keeps ``profile``'s tmux session attached, sending its bytes to
    ``on_data``; with ``session=False`` it keeps only the connection (for tunnels). Jitter
    is seeded per session so many tabs never probe in lockstep. ``history_limit``: the lines
    a tmux session it creates keeps (the settings' ``scrollback_lines``). ``attach``: how the
    session attaches, by default as the profile says (``tmux_attach``)."""
    store = store or ProfileStore()
    if attach == "profile":
        attach = tmux_attach(profile, store, history_limit) if session else None
    connector = SshConnector(
        profile,
        prompter,
        lookup_profile=profile_lookup(store),
        session=session,
        attach=attach,
    )
    policy = Policy.from_profile(profile, seed=secrets.randbits(32))
    return Supervisor(connector, on_data, policy, size=size)


def tmux_attach(
    profile: Profile, store: ProfileStore, history_limit: int | None = None
) -> PlainAttach | None:
    """How ``profile``'s tabs attach: its tmux session with a plain ``new-session -A``, or
    None for a login shell when the profile turns tmux off."""
    if not profile.tmux.enabled:
        return None
    # The session an older termkeep made for this profile is found again on attach.
    adopt = adoptable_legacy_base(profile, store.load_all().profiles)
    return PlainAttach.for_profile(profile, adopt=adopt, history_limit=history_limit)


def remote_sessions(profile: Profile, prompter: Prompter, store: ProfileStore) -> RemoteSessions:
    """The tmux sessions termkeep made for ``profile`` on its host, to list and kill (each
    call over a fresh connection, so it works for a profile no tab has open): the first-tab
    sessions of the other saved profiles of the same login are left out, and the name an
    older termkeep gave this one is listed."""
    saved = store.load_all().profiles
    return RemoteSessions(
        profile,
        prompter,
        lookup_profile=profile_lookup(store),
        claimed=claimed_by_others(profile, saved),
        legacy=adoptable_legacy_base(profile, saved),
    )


def log_mode(profile: Profile, default: str) -> LogMode:
    """The profile's ``log`` if it sets one, else the app-wide ``default``."""
    return LogMode(profile.log or default)


class SessionCore:
    """One profile's connection kept up, with what goes with it (see the module's notes).

    ``screen`` receives every byte the remote sends. ``shell=False`` keeps the connection
    alone (no PTY, no tmux: ``termkeep tunnel``); ``forwards=False`` leaves the profile's
    forwards out (``termkeep attach`` carries none). ``history_file`` is where drops are
    appended (None keeps them in memory, for a tab's view); ``on_tunnel_event`` hears of
    each forward's changes (by default a notable one is announced as a notice);
    ``history_limit``: the lines a tmux session it creates keeps.
    """

    def __init__(
        self,
        profile: Profile,
        prompter: Prompter,
        *,
        screen: DataSink,
        size: tuple[int, int] = (80, 24),
        store: ProfileStore | None = None,
        shell: bool = True,
        forwards: bool = True,
        log: LogMode = LogMode.OFF,
        log_pattern: str = DEFAULT_LOG_PATTERN,
        history_file: Path | None = None,
        on_tunnel_event: TunnelEvent | None = None,
        history_limit: int | None = None,
    ) -> None:
        self.profile = profile
        self._screen = screen
        store = store or ProfileStore()
        attach = tmux_attach(profile, store, history_limit) if shell else None
        self.supervisor = build_supervisor(
            profile,
            prompter,
            on_data=self._received,
            size=size,
            store=store,
            session=shell,
            attach=attach,
        )
        self.log = OutputLog(profile, self.supervisor, mode=log, pattern=log_pattern)
        """The session log (off unless the settings or a tab's toggle start it)."""
        tunnel_set = TunnelSet(
            profile.forwards if forwards else (), on_event=on_tunnel_event or self._tunnel_event
        )
        self.tunnels = TunnelsOnLink(self.supervisor, tunnel_set)
        """The profile's forwards, moved onto each attached link."""
        journal = HistoryJournal(history_file) if history_file is not None else None
        self.recorder = ConnectionRecorder(
            profile.name, profile.host, journal, warn=self.supervisor.announce
        )
        """Drops, RTT, bytes and held keys of this session, for the connection history."""
        self.recorder.follow(self.supervisor)
        self.scrollback = RemoteScrollback(self.supervisor, profile_session_base(profile))
        """The tmux pane's scrollback, read beside the session on its connection."""
        self.away = AwayWatch(self.supervisor, attach, self.recorder)
        """"While you were away" after each long outage (a tab gives it the screen seen)."""

    async def start(self) -> None:
        """Start in the one order (module notes); what goes wrong reaches the listeners
        added since the core was made."""
        self.log.start_if_asked()
        await self.tunnels.tunnels.start()
        self.recorder.begin()
        await self.supervisor.start()

    async def close(self) -> None:
        """Close in the one order (module notes), each part even if one before failed; the
        tmux session stays on the server."""
        await _each_of(
            self.tunnels.close,
            self.log.stop,
            self.recorder.close,
            self.away.close,
            self.scrollback.close,
            self.supervisor.close,
        )

    def on_update(self, listener: Listener) -> None:
        """Call ``listener`` with every status change and notice of the supervisor."""
        self.supervisor.add_listener(listener)

    def status(self) -> Status:
        return self.supervisor.status()

    def write(self, data: bytes) -> None:
        """Keys from the user: sent now, or held while the link is down."""
        self.recorder.sent(len(data))
        self.supervisor.write(data)

    def reply(self, data: bytes) -> None:
        """A terminal's answer to a query in the bytes being shown: to the link that asked,
        at once, or nowhere (never typing; the recorder counts it if it is sent)."""
        self.supervisor.reply(data)

    def resize(self, columns: int, rows: int) -> None:
        """The remote PTY's new size, now or at reattach."""
        self.supervisor.resize(columns, rows)

    def reconnect_now(self) -> None:
        self.supervisor.reconnect_now()

    def connection_history(self) -> ConnectionHistory:
        """This session's drops, RTT samples, byte counts and held keys so far."""
        return self.recorder.snapshot()

    def _received(self, data: bytes) -> None:
        self.recorder.received(len(data))
        self._screen(data)
        self.log.output(data)

    def _tunnel_event(self, tunnel: Tunnel, text: str, notable: bool) -> None:
        # Routine changes (up, waiting) show as counts in the status line; a notice for each
        # would bury the ones that matter at every reconnect.
        if notable:
            self.supervisor.announce(f"tunnel {tunnel.forward.flag}: {text}")


async def _each_of(*steps: Callable[[], Awaitable[None] | None]) -> None:
    """Run every step in order, each even if one before failed (or was cancelled); then
    raise the first failure."""
    first: BaseException | None = None
    for run_step in steps:
        try:
            result = run_step()
            if inspect.isawaitable(result):
                await result
        except BaseException as error:
            first = first or error
    if first is not None:
        raise first

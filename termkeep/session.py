"""A Session: what one tab (or one `termkeep attach`) shows, surviving every reconnect.

It joins a Supervisor (keeps the SSH link attached) to the place the remote's bytes go: an
Emulator for the app's tabs, or the local terminal for the headless attach.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from termkeep.config.profile import Profile
from termkeep.config.settings import DEFAULT_LOG_PATTERN, LogMode
from termkeep.config.store import ProfileStore
from termkeep.records.connection_history import ConnectionHistory, HistoryJournal
from termkeep.supervisor.output_log import OutputLog
from termkeep.supervisor.phase import Phase
from termkeep.supervisor.recorder import ConnectionRecorder
from termkeep.supervisor.state import Policy, Status
from termkeep.supervisor.supervisor import Supervisor, Update
from termkeep.supervisor.tunnels import TunnelsOnLink
from termkeep.terminal.clipboard import ClipboardWrite
from termkeep.terminal.emulator import (
    DEFAULT_SCROLLBACK_LINES,
    Emulator,
    MouseTracking,
    ScreenRow,
    Snapshot,
)
from termkeep.terminal.keys import InputEncoder
from termkeep.terminal.palette import DEFAULT_PALETTE, RGB, Palette
from termkeep.terminal.predict import PredictMode, Predictor
from termkeep.terminal.predict_overlay import EMPTY_OVERLAY, Overlay
from termkeep.tmux import scrollback
from termkeep.tmux.attach import PlainAttach
from termkeep.tmux.names import adoptable_legacy_base, claimed_by_others, profile_session_base
from termkeep.tmux.scrollback import (
    ScrollbackError,
    ScrollbackHelper,
    ScrollbackPage,
    SearchAnswer,
)
from termkeep.tmux.sessions import RemoteSessions
from termkeep.transport.link import DataSink, Link
from termkeep.transport.prompts import Prompter
from termkeep.transport.ssh.connector import SshConnector
from termkeep.transport.tunnels import Tunnel, TunnelSet


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
) -> Supervisor:
    """A supervisor that keeps ``profile``'s tmux session attached, sending its bytes to
    ``on_data``; with ``session=False`` it keeps only the connection (for tunnels). Jitter
    is seeded per session so many tabs never probe in lockstep. ``history_limit``: the lines
    a tmux session it creates keeps (the settings' ``scrollback_lines``)."""
    store = store or ProfileStore()
    connector = SshConnector(
        profile,
        prompter,
        lookup_profile=profile_lookup(store),
        session=session,
        attach=tmux_attach(profile, store, history_limit) if session else None,
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
    call over a fresh connection): the first-tab sessions of the other saved profiles of
    the same login are left out, and the name an older termkeep gave this one is listed."""
    saved = store.load_all().profiles
    return RemoteSessions(
        profile,
        prompter,
        lookup_profile=profile_lookup(store),
        claimed=claimed_by_others(profile, saved),
        legacy=adoptable_legacy_base(profile, saved),
    )


def connection_recorder(
    supervisor: Supervisor, profile: Profile, history_file: Path | None
) -> ConnectionRecorder:
    """A recorder of ``supervisor``'s drops, appending them to ``history_file`` if given;
    a file that cannot be written is announced once and the session goes on."""
    journal = HistoryJournal(history_file) if history_file is not None else None
    recorder = ConnectionRecorder(profile.name, profile.host, journal, warn=supervisor.announce)
    recorder.follow(supervisor)
    return recorder


def log_mode(profile: Profile, default: str) -> LogMode:
    """The profile's ``log`` if it sets one, else the app-wide ``default``."""
    return LogMode(profile.log or default)


def predict_mode(profile: Profile, default: str) -> PredictMode:
    """The profile's ``predict`` if it sets one, else the app-wide ``default``."""
    return PredictMode(profile.predict or default)


type OutputListener = Callable[[], None]
type UpdateListener = Callable[[Update], None]


class TerminalWatcher(Protocol):
    """Who shows a SessionTerminal (the ui's TerminalListener)."""

    def output_arrived(self) -> None: ...
    def title_changed(self, title: str) -> None: ...
    def bell(self) -> None: ...
    def clipboard_written(self, request: ClipboardWrite) -> None: ...


class SessionTerminal:
    """A session's terminal side, what a view shows (the ui's TerminalPort).

    It is the emulator's one owner: the remote's bytes are fed here, the size is set here
    (and passed on to ``on_resize``, the remote PTY's), the emulator's events go to the
    watchers from here. Typed bytes go through the predictor, if any, before ``send``. The
    emulator's replies to the remote's queries go where its ``write`` was pointed when it
    was made, never through a view.
    """

    def __init__(
        self,
        emulator: Emulator,
        *,
        send: Callable[[bytes], object],
        predictor: Predictor | None = None,
        on_resize: Callable[[int, int], object] | None = None,
    ) -> None:
        self.emulator = emulator
        self.predictor = predictor
        self.encoder = InputEncoder(emulator)
        self._send = send
        self._on_resize = on_resize
        self._output_listeners: list[OutputListener] = []
        self._watchers: list[TerminalWatcher] = []
        emulator.on_title = self._title_changed
        emulator.on_bell = self._bell
        emulator.on_clipboard_write = self._clipboard_written

    # -- the screen -------------------------------------------------------------------

    @property
    def size(self) -> tuple[int, int]:
        return self.emulator.size

    def snapshot(self) -> Snapshot:
        return self.emulator.snapshot()

    def history(self) -> tuple[ScreenRow, ...]:
        return self.emulator.history()

    @property
    def title(self) -> str:
        return self.emulator.title

    @property
    def cursor_colour(self) -> RGB:
        return self.emulator.palette.cursor

    @property
    def bracketed_paste(self) -> bool:
        return self.emulator.bracketed_paste

    @property
    def alternate_screen(self) -> bool:
        return self.emulator.alternate_screen

    @property
    def mouse_tracking(self) -> MouseTracking:
        return self.emulator.mouse_tracking

    @property
    def synchronized_output(self) -> bool:
        return self.emulator.synchronized_output

    @property
    def scroll_offset(self) -> int:
        return self.emulator.scroll_offset

    def scroll_viewport(self, delta: int) -> None:
        self.emulator.scroll_viewport(delta)

    def scroll_to_bottom(self) -> None:
        self.emulator.scroll_to_bottom()

    def set_palette(self, palette: Palette) -> None:
        """Paint with a new theme's terminal colours: a fresh frame, since cached rows
        carry the old ones."""
        self.emulator.palette = palette
        self.output_changed()

    # -- bytes in, size, bytes out -----------------------------------------------------

    def feed(self, data: bytes) -> None:
        """The remote's bytes: into the emulator (replies go out meanwhile), then the
        watchers redraw."""
        self.emulator.feed(data)
        self.output_changed()

    def resize(self, columns: int, rows: int) -> None:
        """The view's new size, for the emulator now and the remote PTY now or at reattach."""
        if (columns, rows) != self.emulator.size:
            self.emulator.resize(columns, rows)
        if self._on_resize is not None:
            self._on_resize(columns, rows)

    def send(self, data: bytes) -> None:
        """Bytes for the remote that no one typed (mouse reports, wheel arrows)."""
        self._send(data)

    def send_typed(self, data: bytes) -> None:
        """A typed key or a paste: its echo is guessed on the screen as it is, then it goes."""
        if self.predictor is not None:
            self.predictor.typed(data, self.emulator.snapshot(), time.monotonic())
        self._send(data)

    # -- predictive echo ---------------------------------------------------------------

    def prediction(self, frame: Snapshot, *, observe: bool) -> Overlay:
        """The guesses to draw over ``frame``, checked against it first when ``observe``."""
        predictor = self.predictor
        if predictor is None:
            return EMPTY_OVERLAY
        if observe:
            predictor.observe(frame, time.monotonic())
        return predictor.overlay()

    def prediction_deadline(self) -> float | None:
        return None if self.predictor is None else self.predictor.next_deadline()

    # -- who listens -------------------------------------------------------------------

    def watch(self, watcher: TerminalWatcher) -> None:
        """Tell ``watcher`` of output, titles, bells and clipboard writes from now on."""
        self._watchers.append(watcher)

    def on_output(self, listener: OutputListener) -> None:
        """Call ``listener`` after the screen changed (new bytes, a palette, a guess)."""
        self._output_listeners.append(listener)

    def output_changed(self) -> None:
        """Tell every watcher and listener that the screen changed."""
        for watcher in self._watchers:
            watcher.output_arrived()
        for listener in self._output_listeners:
            listener()

    def _title_changed(self, title: str) -> None:
        for watcher in self._watchers:
            watcher.title_changed(title)

    def _bell(self) -> None:
        for watcher in self._watchers:
            watcher.bell()

    def _clipboard_written(self, request: ClipboardWrite) -> None:
        for watcher in self._watchers:
            watcher.clipboard_written(request)


class Session:
    """One tab: a profile's tmux session, its emulated screen, and the supervisor keeping it
    attached. Survives every reconnect; only ``close()`` ends it (the tmux session stays on
    the server)."""

    def __init__(
        self,
        profile: Profile,
        prompter: Prompter,
        *,
        size: tuple[int, int] = (80, 24),
        store: ProfileStore | None = None,
        scrollback_lines: int = DEFAULT_SCROLLBACK_LINES,
        palette: Palette = DEFAULT_PALETTE,
        predict: PredictMode = PredictMode.ADAPTIVE,
        log: LogMode = LogMode.OFF,
        log_pattern: str = DEFAULT_LOG_PATTERN,
        history_file: Path | None = None,
    ) -> None:
        """``history_file``: where this session's drops are appended (JSON lines); None
        keeps them in memory only, for the tab's view."""
        self.profile = profile
        self.supervisor = build_supervisor(
            profile,
            prompter,
            on_data=self._received,
            size=size,
            store=store,
            history_limit=scrollback_lines,
        )
        self.predictor = Predictor(predict)
        """Guesses the echo of typed keys; the view draws it over the emulator."""
        self.terminal = SessionTerminal(
            Emulator(*size, write=self._reply, scrollback_lines=scrollback_lines, palette=palette),
            send=self.write,
            predictor=self.predictor,
            on_resize=self.supervisor.resize,
        )
        """The screen side, what a view shows: the emulator's one owner."""
        self._scrollback: tuple[Link, ScrollbackHelper] | None = None
        self._warming: asyncio.Future[ScrollbackHelper | None] | None = None
        self._last_rtt: float | None = None
        self.supervisor.add_listener(self._follow_link)
        self.supervisor.add_held_keys_listener(self._held_keys_fate)
        self.predictor.pause()  # not attached yet: keys are held
        self.log = OutputLog(profile, self.supervisor, mode=log, pattern=log_pattern)
        """The session log (off unless the settings or the tab's toggle start it)."""
        self.tunnels = TunnelsOnLink(
            self.supervisor, TunnelSet(profile.forwards, on_event=self._tunnel_event)
        )
        self.recorder = connection_recorder(self.supervisor, profile, history_file)
        """Drops, RTT, bytes and held keys of this session, for the connection history (view
        and file)."""

    @property
    def name(self) -> str:
        return self.profile.name

    @property
    def emulator(self) -> Emulator:
        """The emulated screen (its owner is ``terminal``)."""
        return self.terminal.emulator

    @property
    def title(self) -> str:
        """The title the remote set (OSC 0/2), sanitised by the emulator."""
        return self.terminal.title

    def on_output(self, listener: OutputListener) -> None:
        """Call ``listener`` after the emulator has taken new bytes (the view redraws)."""
        self.terminal.on_output(listener)

    def set_palette(self, palette: Palette) -> None:
        """Paint with a new theme's terminal colours."""
        self.terminal.set_palette(palette)

    def on_update(self, listener: UpdateListener) -> None:
        """Call ``listener`` with every status change and notice of the supervisor."""
        self.supervisor.add_listener(listener)

    async def start(self) -> None:
        # Started here, not in __init__, so that what goes wrong reaches the tab's listeners.
        self.log.start_if_asked()
        # Listeners first: the client's ports are bound before the first connect ends.
        await self.tunnels.tunnels.start()
        self.recorder.begin()
        await self.supervisor.start()

    def status(self) -> Status:
        return self.supervisor.status()

    def write(self, data: bytes) -> None:
        """Keys from the user: sent now, or held while the link is down."""
        self.recorder.sent(len(data))
        self.supervisor.write(data)

    def connection_history(self) -> ConnectionHistory:
        """This session's drops, RTT samples, byte counts and held keys so far."""
        return self.recorder.snapshot()

    def resize(self, columns: int, rows: int) -> None:
        """The view's new size, for the emulator now and the remote PTY now or at reattach."""
        self.terminal.resize(columns, rows)

    def reconnect_now(self) -> None:
        self.supervisor.reconnect_now()

    def _tunnel_event(self, tunnel: Tunnel, text: str, notable: bool) -> None:
        # Routine changes (up, waiting) show as counts in the status line; a notice for each
        # would bury the ones that matter at every reconnect.
        if notable:
            self.supervisor.announce(f"tunnel {tunnel.forward.flag}: {text}")

    async def close(self) -> None:
        await self.tunnels.close()
        self.log.stop()
        self.recorder.close()
        if self._warming is not None:
            self._warming.cancel()
        if self._scrollback is not None:
            self._scrollback[1].close()
            self._scrollback = None
        await self.supervisor.close()

    def remote_scrollback_available(self) -> bool:
        """Whether the tab is attached to a tmux session whose history can be read."""
        link = self.supervisor.current_link
        return link is not None and link.tmux

    async def read_scrollback(self, first: int, last: int) -> ScrollbackPage:
        """Lines ``first``..``last`` of the tmux pane (0 is the screen's top line), read on
        a side channel of the current connection. ScrollbackError when there is none."""
        link = self.supervisor.current_link
        if link is None or not link.tmux:
            raise ScrollbackError("the tab is not attached to a tmux session right now")
        channel = await self._scrollback_channel(link)
        if channel is not None:
            try:
                return await channel.read_page(first, last)
            except ScrollbackError:
                # The helper shell went away (a server that gives commands no stdin, an
                # idle timeout): this page runs as a command of its own, the next one
                # opens a new helper.
                pass
        return await scrollback.read_page(link, self._tmux_name, first, last)

    async def search_scrollback(
        self, pattern: str, cursor: int, *, forward: bool, context: int
    ) -> SearchAnswer:
        """Rows of the tmux pane that may hold ``pattern`` (ASCII case folded on the server:
        the caller checks them), nearest ``cursor`` first, and the rows ``context`` around
        the first: one request on the current connection. ScrollbackError without one."""
        link = self.supervisor.current_link
        if link is None or not link.tmux:
            raise ScrollbackError("the tab is not attached to a tmux session right now")
        channel = await self._scrollback_channel(link)
        if channel is not None:
            try:
                return await channel.search(pattern, cursor, forward=forward, context=context)
            except ScrollbackError:
                pass  # as for a page: this search runs as a command of its own
        return await scrollback.search(
            link, self._tmux_name, pattern, cursor, forward=forward, context=context
        )

    @property
    def _tmux_name(self) -> str:
        return profile_session_base(self.profile)

    async def _scrollback_channel(self, link: Link) -> ScrollbackHelper | None:
        """The helper channel on ``link``'s connection, opened if need be (None if it cannot
        be: then each page runs as a command of its own)."""
        held = self._scrollback
        if held is not None and held[0] is link and not held[1].closed:
            return held[1]
        if held is not None:
            held[1].close()
        self._scrollback = None
        try:
            channel = await ScrollbackHelper.open(link, self._tmux_name)
        except ScrollbackError:
            return None
        if self.supervisor.current_link is not link:
            channel.close()
            return None
        self._scrollback = (link, channel)
        return channel

    def keep_scrollback_warm(self) -> None:
        """Open the scrollback helper whenever the tab attaches to tmux (for a view that can
        show the remote scrollback; the headless attach has none and skips the channel)."""
        self.supervisor.add_listener(self._warm_scrollback)

    def _warm_scrollback(self, update: Update) -> None:
        # Open the helper as soon as the tab is attached, so the first scrollback view costs
        # one round trip, not three.
        if not isinstance(update, Status) or update.state is not Phase.ATTACHED or self._warming:
            return
        link = self.supervisor.current_link
        if link is not None and link.tmux:
            self._warming = asyncio.ensure_future(self._scrollback_channel(link))
            self._warming.add_done_callback(self._warmed)

    def _warmed(self, task: asyncio.Future[ScrollbackHelper | None]) -> None:
        self._warming = None
        if not task.cancelled():
            task.exception()  # retrieved: a failed warm-up only means the slow path

    def _received(self, data: bytes) -> None:
        self.recorder.received(len(data))
        self.terminal.feed(data)
        self.log.output(data)

    def _follow_link(self, update: Update) -> None:
        """Keep the predictor in step with the link: its RTT, and whether keys are held."""
        if not isinstance(update, Status):
            return
        if update.rtt is not None and update.rtt != self._last_rtt:
            self._last_rtt = update.rtt
            self.predictor.rtt_sample(update.rtt)
        attached = update.state is Phase.ATTACHED
        if attached == self.predictor.paused:
            if attached:
                self.predictor.resume(time.monotonic())
            else:
                self.predictor.pause()
            self.terminal.output_changed()

    def _held_keys_fate(self, delivered: bool) -> None:
        if not delivered:
            # Their guesses go with them, in the same step as the notice that says so.
            self.predictor.discard()
        self.predictor.resume(time.monotonic())
        self.terminal.output_changed()

    def _reply(self, data: bytes) -> None:
        # Answers to the remote's queries (DA, cursor position) go out during feed, ahead of
        # anything the view will render. They are never held for a later link: an answer
        # typed into a reattached session would arrive as stray keystrokes.
        if self.supervisor.status().state is Phase.ATTACHED:
            self.recorder.sent(len(data))
            self.supervisor.write(data)

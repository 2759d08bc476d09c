"""The real Session (supervisor + emulator) seen through the ui's SessionLike protocol, and
the TerminalView that shows it through the session's TerminalPort."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Collection

from textual.widget import Widget

from termkeep import paths
from termkeep.config.profile import Profile
from termkeep.config.settings import ClipboardWrite, PasteConfirm, PasteUpload, Settings
from termkeep.config.store import ProfileStore
from termkeep.records.connection_history import ConnectionHistory
from termkeep.session.core import log_mode
from termkeep.session.tab import predict_mode
from termkeep.session.tab_session import Session
from termkeep.supervisor.phase import Phase
from termkeep.supervisor.state import Status
from termkeep.supervisor.updates import Notice, Update
from termkeep.terminal.clipboard import BackgroundWrites, ClipboardGate
from termkeep.terminal.palette import Palette
from termkeep.tmux.names import legacy_session_base, profile_session_base, tab_label
from termkeep.tmux.pane import PaneError, PanePlace, pane_place
from termkeep.transfers.jobs import ExistsDecider
from termkeep.transfers.model import TransferState, TransferView
from termkeep.transport.prompts import Prompter
from termkeep.transport.quick_connect import resolve_target
from termkeep.transport.tunnels import TunnelSet, TunnelState
from termkeep.ui.live_transfers import LiveTransfers
from termkeep.ui.screens.scrollback import ScrollbackScreen
from termkeep.ui.scrollback_source import ScrollbackSource, scrollback_source
from termkeep.ui.session_api import (
    Listener,
    NoticeListener,
    PaneUnknownError,
    SessionLike,
    SessionOpener,
    StatusSnapshot,
)
from termkeep.ui.terminal_port import TerminalPort
from termkeep.ui.transfer_text import active_line, active_view
from termkeep.ui.widgets.session_pane import TerminalFactory
from termkeep.ui.widgets.terminal_view import OpenHistory, TerminalView


def destination_of(session: Session) -> str:
    """``user@host``, with ``:port`` only when it is not 22."""
    profile = session.profile
    user = f"{profile.user}@" if profile.user else ""
    port = f":{profile.port}" if profile.port != 22 else ""
    return f"{user}{profile.host}{port}"


def snapshot_of(
    status: Status, destination: str, title: str, tunnels: TunnelSet | None = None
) -> StatusSnapshot:
    """The supervisor's Status in the ui's terms, with the tab's tunnels counted."""
    state = status.state
    cause = status.detail or (str(status.cause) if status.cause else None)
    return StatusSnapshot(
        state=state,
        destination=destination,
        cause=cause,
        last_contact_age=status.last_contact_age,
        rtt=status.rtt,
        attempt=status.attempt,
        retry_in=status.retry_in,
        held=status.held,
        title=title,
        tunnels=len(tunnels.tunnels) if tunnels is not None else 0,
        tunnels_down=_tunnels_down(tunnels, attached=state is Phase.ATTACHED),
    )


def _tunnels_down(tunnels: TunnelSet | None, *, attached: bool) -> int:
    """Forwards that fail, or (while attached) are not up; during an outage every forward
    waits, which the tab's own state already says."""
    if tunnels is None:
        return 0
    if not attached:
        return len(tunnels.failed)
    return sum(tunnel.state is not TunnelState.UP for tunnel in tunnels.tunnels)


class LiveSession:
    """Adapts ``termkeep.session.tab_session.Session`` to SessionLike."""

    def __init__(
        self,
        session: Session,
        on_close: Callable[[], None] | None = None,
        transfers: TransferOpener | None = None,
        *,
        label: str | None = None,
    ) -> None:
        """``transfers`` makes the tab's transfer queue (on a second connection, started on
        first use); without it the tab carries no files. ``label`` tells tabs of one host
        apart (``tmux.names.tab_label``)."""
        self.session = session
        self._label = label
        self._on_close = on_close
        self._listeners: list[Listener] = []
        self._notice_listeners: list[NoticeListener] = []
        self._transfer_opener = transfers
        self._transfers: LiveTransfers | None = None
        self._shown_transfer: tuple[int, TransferState] | None = None
        session.on_update(self._updated)
        session.keep_scrollback_warm()
        # A forward failing or coming up changes the status line's tunnel count.
        session.tunnels.tunnels.watch(self._tunnels_changed)

    @property
    def name(self) -> str:
        """The profile's name."""
        return self.session.name

    @property
    def label(self) -> str:
        """The profile's name, numbered after the tmux session ("labhost 2")."""
        return self._label or self.session.name

    @property
    def tmux_session(self) -> str | None:
        """The tmux session this tab attaches (None when the profile turns tmux off)."""
        profile = self.session.profile
        return profile.tmux_session_name if profile.tmux.enabled else None

    @property
    def theme(self) -> str | None:
        """The profile's theme, if it sets one."""
        return self.session.profile.theme

    def toggle_log(self) -> str:
        """Start or stop this tab's session log; what to tell the user."""
        path = self.session.log.path
        if path is not None:
            self.session.log.stop()
            return f"log stopped: {path}"
        try:
            return f"logging to {self.session.log.start()}"
        except OSError as error:
            return f"cannot log: {error.strerror or error} ({error.filename})"

    @property
    def profile(self) -> Profile:
        """The profile this tab connects with (a quick target's included)."""
        return self.session.profile

    def connection_history(self) -> ConnectionHistory:
        """The session's drops, RTT samples, bytes and held keys so far."""
        return self.session.connection_history()

    @property
    def transfers(self) -> LiveTransfers | None:
        """The tab's file transfers, on their own connection: made when first asked for (a
        tab that never moves a file carries none of it), connected on the first transfer."""
        if self._transfers is None and self._transfer_opener is not None:
            self._transfers = self._transfer_opener(self.session, self._notice)
            self._transfers.add_listener(self._transfer_changed)
        return self._transfers

    async def pane_place(self) -> PanePlace | None:
        """Where the tab's tmux pane is, asked over the tab's connection (one small
        command); None when the tab runs without tmux (the profile or the server)."""
        if not self.session.profile.tmux.enabled:
            return None
        link = self.session.supervisor.current_link
        if link is None:
            raise PaneUnknownError("the tab is not connected right now")
        if not link.tmux:
            return None
        try:
            return await pane_place(link, profile_session_base(self.session.profile))
        except PaneError as error:
            raise PaneUnknownError(str(error)) from error

    async def start(self) -> None:
        """Start the supervisor: connect, and keep reconnecting."""
        await self.session.start()

    def status(self) -> StatusSnapshot:
        """The supervisor's status now, with the remote's title and the tunnel counts."""
        snapshot = snapshot_of(
            self.session.status(), destination_of(self.session), self.session.title, self.tunnels
        )
        if self._transfers is None:
            return snapshot
        return dataclasses.replace(snapshot, transfer=active_line(self._transfers.transfers()))

    @property
    def tunnels(self) -> TunnelSet:
        """The tab's forwards."""
        return self.session.tunnels.tunnels

    def add_listener(self, listener: Listener) -> None:
        """Hear of every status change."""
        self._listeners.append(listener)

    def add_notice_listener(self, listener: NoticeListener) -> None:
        """Hear the supervisor's notices."""
        self._notice_listeners.append(listener)

    def write(self, data: bytes) -> None:
        """Keys to the remote (held while not attached)."""
        self.session.write(data)

    def reconnect_now(self) -> None:
        """Probe at once."""
        self.session.reconnect_now()

    async def close(self) -> None:
        """End the connection (and the transfers'); the tmux session stays on the server."""
        try:
            if self._transfers is not None:
                await self._transfers.close()
        finally:
            await self.session.close()
        if self._on_close is not None:
            self._on_close()
            self._on_close = None

    @property
    def terminal(self) -> TerminalPort:
        """The session's terminal, for the view that shows it."""
        return self.session.terminal

    def scrollback(self, wanted_lines: int = 0) -> ScrollbackSource:
        """What the scrollback view shows: the remote pane's history when in tmux, else the
        emulator's own scrollback; ``wanted_lines``: the history the settings ask for."""
        return scrollback_source(self.session, wanted_lines)

    def set_palette(self, palette: Palette) -> None:
        """Paint with a new theme's terminal colours (the view draws a fresh frame)."""
        self.session.set_palette(palette)

    def _notice(self, text: str) -> None:
        for notice_listener in self._notice_listeners:
            notice_listener(text)

    def _transfer_changed(self, view: TransferView) -> None:
        """A transfer moved: the status line hears of a new active transfer or state at
        once; progress alone waits for the pane's tick (no repaint ten times a second
        beside the tab's echo)."""
        del view
        if self._transfers is None:
            return
        active = active_view(self._transfers.transfers())
        shown = (active.id, active.state) if active is not None else None
        if shown != self._shown_transfer:
            self._shown_transfer = shown
            self._tunnels_changed()

    def _tunnels_changed(self) -> None:
        for listener in self._listeners:
            listener()

    def _updated(self, update: Update) -> None:
        if isinstance(update, Notice):
            for notice_listener in self._notice_listeners:
                notice_listener(update.text)
        else:
            for listener in self._listeners:
                listener()


type TransferOpener = Callable[[Session, Callable[[str], None]], LiveTransfers]


def live_session_opener(
    store: ProfileStore,
    prompter: Prompter,
    settings: Settings,
    palette: Palette,
    decide: ExistsDecider | None = None,
) -> SessionOpener:
    """Opens real sessions on saved profiles; the caller starts them once they are shown.
    ``decide`` answers "the destination exists" for the tabs' transfers (without it the
    tabs carry no files).

    A second tab on a profile that is already open gets its own tmux session, since two tabs
    attached to one tmux session would only mirror each other.
    """
    held_by_tabs: dict[str, set[str]] = {}

    def open_session(name: str, tmux_session: str | None = None) -> SessionLike:
        held = held_by_tabs.setdefault(name, set())
        profile = original = resolve_target(store, name)
        legacy = legacy_session_base(profile)
        if tmux_session is not None and tmux_session == legacy:
            # Saved (or listed) under the name an older termkeep gave the first tab: open it
            # by today's name, whose attach finds the old session and renames it.
            tmux_session = None
        if tmux_session is not None and tmux_session not in held:
            profile = _with_tmux_session(profile, tmux_session)
        profile = with_free_tmux_session(profile, held)
        tmux_session = profile.tmux_session_name
        held.add(tmux_session)
        session = Session(
            profile,
            prompter,
            store=store,
            scrollback_lines=settings.scrollback_lines,
            palette=palette,
            predict=predict_mode(profile, settings.predict),
            log=log_mode(profile, settings.log),
            log_pattern=profile.log_path or settings.log_path,
            history_file=paths.connection_history_file(),
        )
        transfers: TransferOpener | None = None
        if decide is not None:
            asker = decide

            def transfers(tab: Session, notice: Callable[[str], None]) -> LiveTransfers:
                return LiveTransfers(tab, prompter, store, asker, notice)

        label = tab_label(original, tmux_session, legacy) if profile.tmux.enabled else name
        return LiveSession(
            session,
            on_close=lambda: held.discard(tmux_session),
            transfers=transfers,
            label=label,
        )

    return open_session


def with_free_tmux_session(profile: Profile, held: Collection[str]) -> Profile:
    """``profile``, or a copy naming a tmux session no open tab holds (``base-2``, ...)."""
    base = profile.tmux_session_name
    if base not in held:
        return profile
    name = next(f"{base}-{n}" for n in itertools.count(2) if f"{base}-{n}" not in held)
    return _with_tmux_session(profile, name)


def _with_tmux_session(profile: Profile, name: str) -> Profile:
    return dataclasses.replace(profile, tmux=dataclasses.replace(profile.tmux, session=name))


def paste_confirm(profile: Profile | None, settings: Settings) -> PasteConfirm:
    """The profile's ``paste_confirm`` if it sets one, else the app-wide setting."""
    own = profile.paste_confirm if profile is not None else None
    return PasteConfirm(own or settings.paste_confirm)


def live_terminal_factory(settings: Settings) -> TerminalFactory:
    """Builds the TerminalView of a live session (the sessions ``live_session_opener``
    makes; any other kind is a programming error)."""

    def build(session: SessionLike) -> Widget:
        if not isinstance(session, LiveSession):
            raise TypeError(f"a live terminal shows live sessions, not {type(session).__name__}")
        live = session

        def open_scrollback(start_up: int) -> None:
            if view.is_attached:
                source = live.scrollback(settings.scrollback_lines)
                view.app.push_screen(ScrollbackScreen(source, view, live.label, start_up=start_up))

        view = terminal_view(
            live.terminal,
            settings,
            live.profile,
            on_history=open_scrollback,
            history_is_tmux=live.session.remote_scrollback_available,
        )
        return view

    return build


def terminal_view(
    port: TerminalPort,
    settings: Settings,
    profile: Profile | None,
    *,
    on_history: OpenHistory | None = None,
    history_is_tmux: Callable[[], bool] | None = None,
) -> TerminalView:
    """A TerminalView that applies ``settings`` (and the ``profile``'s own choices): the
    remote's clipboard writes and the questions before a risky paste."""
    return TerminalView(
        port,
        allow_clipboard_write=settings.clipboard_write is ClipboardWrite.ALLOW,
        clipboard_gate=ClipboardGate(BackgroundWrites(settings.clipboard_write_background)),
        confirm_paste_lines=paste_confirm(profile, settings) is PasteConfirm.MULTILINE,
        offer_upload=settings.paste_upload is PasteUpload.ASK,
        on_history=on_history,
        history_is_tmux=history_is_tmux,
        # tmux draws its status line at the bottom unless told otherwise (status-position).
        status_rows=1 if profile is not None and profile.tmux.enabled else 0,
    )

"""What the app needs from a tab's session, as a Protocol.

The real ``termkeep.session.tab_session.Session`` (SessionCore + SessionTerminal) is wired
in by ``ui.live_session``; the ui only depends on this small surface so it can be built and
tested on its own with a scripted session. Everything here is read on the UI's event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from termkeep.config.profile import Profile
from termkeep.records.connection_history import ConnectionHistory
from termkeep.supervisor.phase import Phase
from termkeep.terminal.palette import Palette

if TYPE_CHECKING:
    # The transport (asyncssh) loads with the first session, not with the app.
    from termkeep.tmux.pane import PanePlace
    from termkeep.transfers.model import TransferView
    from termkeep.transport.remote_files import RemoteEntry
    from termkeep.transport.tunnels import TunnelSet


@dataclass(frozen=True, slots=True)
class StatusSnapshot:
    """One moment of a session's status, everything the tab label and status line show."""

    state: Phase
    destination: str
    """``user@host`` (with ``:port`` when it is not 22)."""

    cause: str | None = None
    """Why the link is down, in plain words (``no reply``, ``connection reset``)."""

    last_contact_age: float | None = None
    """Seconds since the server last sent anything; None before the first contact."""

    rtt: float | None = None
    """Last measured round trip in seconds."""

    attempt: int = 0
    """Reconnect attempt number while reconnecting."""

    retry_in: float | None = None
    """Seconds until the next probe while reconnecting."""

    held: int = 0
    """Bytes typed while not attached, held for delivery after a same-session reattach."""

    title: str = ""
    """The window title the remote set (OSC 0/2), already sanitised."""

    tunnels: int = 0
    """Forwards (``-L``/``-R``/``-D``) the tab runs."""

    tunnels_down: int = 0
    """Of those, how many cannot carry anything now although the tab is attached (failed,
    or a remote forward not granted yet)."""

    transfer: str | None = None
    """The active transfer in one line (``report.pdf 42% 12.3 MB/s 8 s left``), if any."""


type Listener = Callable[[], None]
type NoticeListener = Callable[[str], None]


class RemoteListingError(Exception):
    """A remote directory could not be read; the message says why, in plain words."""


class PaneUnknownError(Exception):
    """The tab's tmux could not say where its pane is; the message says why."""


class TabTransfers(Protocol):
    """A tab's file transfers, on a second connection of its profile (no PTY, no tmux)."""

    @property
    def host(self) -> str:
        """The host as the user knows it, for "upload to HOST:DIR"."""
        ...

    def upload(self, local_paths: Sequence[Path], remote_dir: str | None) -> list[int]:
        """Queue local files into ``remote_dir`` (None: the login directory); their ids."""
        ...

    def download(self, remote_paths: Sequence[str], local_dir: Path) -> list[int]:
        """Queue remote files into ``local_dir``; their ids."""
        ...

    def transfers(self) -> list[TransferView]:
        """Every transfer of the tab, oldest first."""
        ...

    def cancel(self, ident: int) -> None: ...

    def retry(self, ident: int) -> None: ...

    def add_listener(self, listener: Callable[[TransferView], None]) -> None:
        """Hear of every change of any transfer (progress at most ten times a second)."""
        ...

    def remove_listener(self, listener: Callable[[TransferView], None]) -> None:
        """Stop telling ``listener`` (a view that closed)."""
        ...

    async def home(self) -> str:
        """The login directory; RemoteListingError when it cannot be had."""
        ...

    async def realpath(self, path: str) -> str:
        """``path`` resolved by the server; RemoteListingError."""
        ...

    async def listdir(self, path: str) -> list[RemoteEntry]:
        """The entries of a remote directory (symlinks as such); RemoteListingError."""
        ...


class SessionLike(Protocol):
    """A tab's session as the ui sees it."""

    @property
    def name(self) -> str:
        """The profile name, the tab's default label."""
        ...

    @property
    def label(self) -> str:
        """The profile name, numbered from a profile's second tab on ("labhost 2", after
        its tmux session): the tab's label unless renamed or titled."""
        ...

    @property
    def tmux_session(self) -> str | None:
        """The tmux session this tab holds on the server (None without tmux)."""
        ...

    @property
    def theme(self) -> str | None:
        """The profile's own theme for this tab, if it names one."""
        ...

    def toggle_log(self) -> str:
        """Start or stop the tab's session log; what to tell the user."""
        ...

    @property
    def profile(self) -> Profile | None:
        """The connection settings the tab runs on, to save as a profile (None when the
        session has none to offer)."""
        ...

    @property
    def tunnels(self) -> TunnelSet | None:
        """The tab's forwards, running (None when the session cannot carry any)."""
        ...

    @property
    def transfers(self) -> TabTransfers | None:
        """The tab's file transfers (None when the session cannot carry any)."""
        ...

    async def pane_place(self) -> PanePlace | None:
        """Where the tab's tmux pane is (directory, foreground program); None when the tab
        runs without tmux. PaneUnknownError when tmux cannot say."""
        ...

    def connection_history(self) -> ConnectionHistory:
        """This tab's drops, round trips, bytes and held keys so far (the prefix ``i`` view)."""
        ...

    async def start(self) -> None:
        """Begin connecting; returns at once (progress arrives through the listeners)."""
        ...

    def status(self) -> StatusSnapshot:
        """The current status."""
        ...

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener`` (on the event loop) whenever the status or title changes."""
        ...

    def add_notice_listener(self, listener: NoticeListener) -> None:
        """Call ``listener`` with each plain-words notice (``reattached after 0.4 s``)."""
        ...

    def write(self, data: bytes) -> None:
        """Send bytes typed by the user (held while not attached)."""
        ...

    def set_palette(self, palette: Palette) -> None:
        """Paint the remote's output with a theme's terminal colours from now on."""
        ...

    def reconnect_now(self) -> None:
        """Skip the backoff and probe at once (or reattach a detached session)."""
        ...

    async def close(self) -> None:
        """End the connection; the tmux session on the server stays."""
        ...


class SessionOpener(Protocol):
    """Makes the session for a tab on profile ``name``; ``tmux_session`` asks for that tmux
    session (a restored tab), else a free one is chosen. Raises ConfigError when the profile
    does not load."""

    def __call__(self, name: str, tmux_session: str | None = None) -> SessionLike: ...

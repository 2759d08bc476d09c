"""The tmux sessions termkeep left on a host that no tab holds: attach one, or kill it.

The screen is given the two remote calls (list, kill) rather than a connection, so it can be
shown on a real host and in tests alike; ``for_profile`` gets them from the session layer for
a saved profile's host. It dismisses with the name of the tmux session to attach (the app
opens the tab), or None.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, OptionList, Static
from textual.widgets.option_list import Option

from termkeep.config.profile import Profile
from termkeep.config.store import ProfileStore
from termkeep.terminal.durations import AGE, duration_text
from termkeep.tmux.names import tab_label
from termkeep.tmux.sessions import (
    RemoteTmuxSession,
    SessionListing,
    TmuxCommandError,
    unheld,
)
from termkeep.transport.link import ConnectFailedError
from termkeep.transport.prompts import Prompter
from termkeep.ui.plain_text import plain
from termkeep.ui.screens.dialogs import ConfirmScreen

type ListSessions = Callable[[], Awaitable[SessionListing]]
"""Asks the host for the profile's tmux sessions (a fresh connection each time)."""
type KillSession = Callable[[str], Awaitable[None]]
"""Kills one of the profile's tmux sessions on the host."""
type HeldSessions = Callable[[], Iterable[str | None]]
"""The tmux sessions the open tabs on this profile hold, asked at each refresh."""

# Everything a remote call can fail with that the user can act on; shown in one line.
_REMOTE_ERRORS = (ConnectFailedError, TmuxCommandError, ValueError, OSError)


def _remote_error(error: Exception) -> str:
    # A ConnectFailedError reads "cause: detail" (connection refused: ...), the rest as is.
    return str(error)


def session_line(session: RemoteTmuxSession, now: datetime, label: str | None = None) -> str:
    """One row of the list: the label of the tab it makes (if given), name, age, windows,
    and whether another client is attached."""
    windows = f"{session.windows} window{'s' if session.windows != 1 else ''}"
    age = duration_text((now - session.created).total_seconds(), AGE)
    tab = f"{label}  ·  " if label else ""
    line = f"{tab}{session.name}  ·  made {age} ago  ·  {windows}"
    if session.attached:
        clients = f"{session.attached} client{'s' if session.attached != 1 else ''}"
        line += f"  ·  attached elsewhere ({clients})"
    return line


class RemoteSessionsScreen(ModalScreen[str | None]):
    """Lists the host's termkeep tmux sessions for one profile that no tab holds."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "close"),
        Binding("a", "attach", "attach"),
        Binding("k,delete", "kill", "kill"),
        Binding("r", "refresh", "refresh"),
    ]

    def __init__(
        self,
        profile_name: str,
        destination: str,
        *,
        list_sessions: ListSessions,
        kill_session: KillSession,
        held: HeldSessions,
        attach_refusal: str | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        label_of: Callable[[str], str] | None = None,
    ) -> None:
        super().__init__()
        self.profile_name = profile_name
        self.destination = destination
        self._list_sessions = list_sessions
        self._kill_session = kill_session
        self._held = held
        self.attach_refusal = attach_refusal
        """Why Attach cannot work for this profile (tmux turned off), or None."""
        self._now = now
        self._label_of = label_of
        """The label a tab attached to a session gets ("labhost 2"), shown with it."""
        self.sessions: tuple[RemoteTmuxSession, ...] = ()
        """The sessions shown now (the profile's, minus those a tab holds)."""
        self.loading = True
        """True until the host has answered (and again while asking it anew)."""

    @classmethod
    def for_profile(
        cls, profile: Profile, store: ProfileStore, prompter: Prompter, held: HeldSessions
    ) -> RemoteSessionsScreen:
        """The screen for the saved ``profile``'s host, asking it through the session layer
        (each list and kill over a fresh connection, answering ``prompter``'s questions)."""
        # asyncssh loads only when a host is really asked: the app starts without it.
        from termkeep.session.core import remote_sessions  # noqa: PLC0415

        remote = remote_sessions(profile, prompter, store)
        return cls(
            profile.name,
            profile.destination,
            list_sessions=remote.list,
            kill_session=remote.kill,
            held=held,
            # Without tmux the tab would open a plain shell, not the session picked.
            attach_refusal=None
            if profile.tmux.enabled
            else f"tmux is off for {profile.name}: turn it on in the profile manager to attach",
            label_of=lambda name: tab_label(profile, name, remote.legacy),
        )

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog remote-sessions"):
            yield Label(
                plain(f"tmux sessions of {self.profile_name} on {self.destination} without a tab"),
                classes="question",
            )
            yield OptionList(id="sessions", markup=False)
            yield Static(id="sessions-state", classes="hint", markup=False)
            yield Static(id="sessions-error", classes="error-text", markup=False)
            with Horizontal(classes="buttons"):
                # Each button runs the screen's action of its name, as its key does.
                yield Button(
                    "Attach", variant="primary", id="attach", action="screen.attach", compact=True
                )
                yield Button("Kill", variant="error", id="kill", action="screen.kill", compact=True)
                yield Button("Refresh", id="refresh", action="screen.refresh", compact=True)
                yield Button("Close", id="close", action="screen.close", compact=True)
            yield Static("a attach · k kill · r refresh · escape close", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#sessions", OptionList).focus()
        self.refresh_list()

    # --- the list ----------------------------------------------------------------------------

    def show_state(self, text: str) -> None:
        """What the list shows or why it is empty, under it."""
        self.query_one("#sessions-state", Static).update(plain(text))

    def show_error(self, text: str) -> None:
        """A failed remote call, inline, in one line."""
        self.query_one("#sessions-error", Static).update(plain(text, multiline=True))

    def refresh_list(self) -> None:
        """Ask the host again (a fresh connection) and show the answer."""
        self.loading = True
        self.show_state(f"Asking {self.destination} for its tmux sessions…")
        self.show_error("")
        self._load()

    @work(exclusive=True, group="remote-list")
    async def _load(self) -> None:
        try:
            listing = await self._list_sessions()
        except _REMOTE_ERRORS as error:
            self._show(())
            self.show_state("")
            self.show_error(f"Cannot list the tmux sessions: {_remote_error(error)}")
            return
        finally:
            self.loading = False
        self._show(unheld(listing, self._held()))
        self.show_state(self._state_text(listing))

    def _state_text(self, listing: SessionListing) -> str:
        if not listing.tmux_installed:
            return f"tmux is not installed on {self.destination}: there are no sessions to keep."
        if not self.sessions:
            held = len(listing.sessions)
            tabs = f" ({held} held by open tabs)" if held else ""
            return f"No tmux sessions of {self.profile_name} without a tab{tabs}."
        count = len(self.sessions)
        return f"{count} session{'s' if count != 1 else ''} without a tab."

    def _show(self, sessions: tuple[RemoteTmuxSession, ...]) -> None:
        self.sessions = sessions
        options = self.query_one("#sessions", OptionList)
        options.clear_options()
        now = self._now()
        options.add_options(
            [
                Option(
                    plain(session_line(session, now, self._label(session.name))), id=session.name
                )
                for session in sessions
            ]
        )
        if sessions:
            options.highlighted = 0

    def _label(self, name: str) -> str | None:
        return None if self._label_of is None else self._label_of(name)

    @property
    def selected(self) -> str | None:
        """The highlighted session's name."""
        options = self.query_one("#sessions", OptionList)
        if options.highlighted is None or not self.sessions:
            return None
        return options.get_option_at_index(options.highlighted).id

    # --- actions -----------------------------------------------------------------------------

    @on(OptionList.OptionSelected, "#sessions")
    def _chosen(self) -> None:
        self.action_attach()

    def action_attach(self) -> None:
        """Open a tab on the highlighted session."""
        name = self.selected
        if name is None:
            self.show_error("Nothing to attach: no session is selected")
        elif self.attach_refusal is not None:
            self.show_error(self.attach_refusal)
        else:
            self.dismiss(name)

    def action_kill(self) -> None:
        """Kill the highlighted session on the host, after asking."""
        name = self.selected
        if name is None:
            self.show_error("Nothing to kill: no session is selected")
            return

        def decided(yes: bool | None) -> None:
            if yes:
                self._kill(name)

        question = (
            f"Kill the tmux session {name} on {self.destination}? Every program running in it ends."
        )
        self.app.push_screen(ConfirmScreen(question, "Kill"), decided)

    @work(group="remote-kill")  # not exclusive with the list: it refreshes the list itself
    async def _kill(self, name: str) -> None:
        self.loading = True
        self.show_state(f"Killing {name}…")
        try:
            await self._kill_session(name)
        except _REMOTE_ERRORS as error:
            self.loading = False
            self.show_state("")
            self.show_error(f"Cannot kill {name}: {_remote_error(error)}")
            return
        self.notify(f"Killed the tmux session {name} on {self.destination}")
        self.refresh_list()

    def action_refresh(self) -> None:
        """Ask the host again."""
        self.refresh_list()

    def action_close(self) -> None:
        """Back without attaching."""
        self.dismiss(None)

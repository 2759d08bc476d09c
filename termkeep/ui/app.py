"""TermkeepApp: tabs of SSH sessions; the keyboard belongs to the remote except the prefix."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar, override

from rich.text import Text
from textual import events
from textual.app import App, ComposeResult, SystemCommand
from textual.css.query import NoMatches
from textual.driver import Driver
from textual.notifications import SeverityLevel
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Static

from termkeep.config.errors import ConfigError
from termkeep.config.settings import ACTIONS, Settings, settings_or_defaults
from termkeep.config.store import ProfileStore
from termkeep.config.themes import ThemeCatalog, load_themes
from termkeep.records.tab_state import SavedTab, load_tabs, save_tabs
from termkeep.terminal.activity import Mark
from termkeep.terminal.display_text import safe_text
from termkeep.terminal.palette import DEFAULT_PALETTE, Palette
from termkeep.ui import diagnostics, failures, tab_actions, textual_fixes
from termkeep.ui.bindings import Outcome, PrefixRouter, key_label, textual_action
from termkeep.ui.broadcast import Broadcast, stop_hint
from termkeep.ui.desktop_notifier import DesktopNotifier, notify_mode, wanted
from termkeep.ui.garbage import SettledSweep
from termkeep.ui.screens.connection_history import ConnectionHistoryScreen
from termkeep.ui.screens.dialogs import ConfirmScreen, HelpScreen, PickerScreen, TextInputScreen
from termkeep.ui.screens.file_lists import FILE_KEYS
from termkeep.ui.screens.profiles import EDITOR_KEYS, ProfileManagerScreen
from termkeep.ui.screens.prompts import AppPrompter
from termkeep.ui.screens.scrollback_keys import HISTORY_KEYS
from termkeep.ui.screens.transfers import TRANSFERS_KEYS
from termkeep.ui.session_api import SessionLike, SessionOpener
from termkeep.ui.theming import ansi_theme, terminal_palette, textual_theme
from termkeep.ui.widgets.prefix_hint import PrefixHint, bound_key
from termkeep.ui.widgets.session_pane import SessionPane, TerminalFactory
from termkeep.ui.widgets.session_tabs import SessionTabs

TITLE_LIMIT = 120
"""Characters of a notification's title (a profile or tab name) before it is cut."""


class TermkeepApp(App[None], inherit_bindings=False):
    """The terminal app. Built by the cli with real sessions, by tests with scripted ones."""

    # Absolute, because Textual resolves a relative CSS_PATH against a subclass's module.
    CSS_PATH = Path(__file__).parent / "app.tcss"
    TITLE = "termkeep"
    # No palette key: ctrl+p belongs to the remote (readline's previous-history).
    ENABLE_COMMAND_PALETTE: ClassVar[bool] = False

    def __init__(
        self,
        *,
        settings: Settings | None = None,
        themes: ThemeCatalog | None = None,
        store: ProfileStore | None = None,
        open_session: SessionOpener | None = None,
        terminal_factory: TerminalFactory | None = None,
        demo_drop: Callable[[], None] | None = None,
        startup_profiles: Sequence[str] = (),
        restore: bool = True,
    ) -> None:
        textual_fixes.apply()
        super().__init__()
        self.problems: list[str] = []
        self.settings = settings or settings_or_defaults(self.problems)
        self.themes = themes or load_themes()
        self.problems.extend(str(issue) for issue in self.themes.issues)
        self.store = store or ProfileStore()
        self.terminal_palette: Palette = DEFAULT_PALETTE
        """The app theme's terminal colours, given to every tab without a theme of its own."""
        # Real sessions and their TerminalView pull in asyncssh and the terminal engine (about
        # 0.7 s of imports); they are loaded when the first tab opens, after the first frame.
        self._open_session = open_session
        self._terminal_factory = terminal_factory
        self.demo_drop = demo_drop
        self.startup_profiles = list(startup_profiles)
        self.restore = restore
        """With no profiles asked for, reopen the tabs of the last run."""
        self._restoring = False
        self.router = PrefixRouter(self.settings)
        self.key_arrivals = diagnostics.KeyArrivals()  # counted for the SIGUSR1 dump
        self.sweep = SettledSweep(self, self.key_arrivals)
        self.use_command_palette = True  # reachable through the prefix only
        # A lambda: the tab bar exists only once the app is composed.
        relabel = lambda pane: self.tabs.refresh_label(pane)  # noqa: E731, PLW0108
        off_key = self.settings.keys.get("broadcast.off")
        self.broadcast = Broadcast(
            self.settings.prefix, stop_hint(self.settings.prefix, off_key), relabel
        )
        """What is typed in one tab that goes to others too (prefix b picks, B stops)."""
        self.desktop = DesktopNotifier(
            self.write_to_terminal,
            lambda text: self.notify(text, severity="warning", timeout=20),
            self.settings.notify_via,
            os.environ,
        )
        """Bells and desktop notifications, through the terminal the app runs in."""

    def write_to_terminal(self, data: str) -> None:
        """Write ``data`` to the terminal the app runs in, between frames (as Textual's own
        bell does)."""
        driver = self._driver
        if driver is not None:
            driver.write(data)

    # --- layout and start-up -----------------------------------------------------------------

    def open_session(self, name: str, tmux_session: str | None = None) -> SessionLike:
        """Make the session for profile ``name`` (a real one unless the caller gave an
        opener); raises ConfigError when the profile does not load."""
        if self._open_session is None:
            from termkeep.ui.live_session import live_session_opener  # noqa: PLC0415 - see __init__
            from termkeep.ui.transfer_flow import existing_decider  # noqa: PLC0415 - see __init__

            self._open_session = live_session_opener(
                self.store,
                AppPrompter(self),
                self.settings,
                self.terminal_palette,
                existing_decider(self),
            )
        return self._open_session(name, tmux_session)

    def build_terminal(self, session: SessionLike) -> Widget:
        """The widget that shows ``session``'s screen (a TerminalView for real sessions)."""
        if self._terminal_factory is None:
            from termkeep.ui.live_session import live_terminal_factory  # noqa: PLC0415 - see __init__

            self._terminal_factory = live_terminal_factory(self.settings)
        return self._terminal_factory(session)

    @override
    def get_driver_class(self) -> type[Driver]:
        # Textual's Linux driver reads the keyboard twice after a SIGCONT: see textual_fixes.
        return textual_fixes.driver_class(super().get_driver_class())

    @override
    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Show a notification as plain text, always: its text so often carries a remote
        title, a server's words or an exception message that no caller may ask for markup
        (``markup`` is accepted for Textual's signature and ignored)."""
        del markup
        super().notify(
            safe_text(message, multiline=True),
            title=safe_text(title, limit=TITLE_LIMIT),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    @override
    def _handle_exception(self, error: Exception) -> None:
        # An error that no tab took (tabs catch their own: ui/failures.py) still ends the
        # app, as Textual does; its traceback goes to the log file first.
        failures.record(error, "the app")
        super()._handle_exception(error)

    @override
    def _fatal_error(self) -> None:
        # Textual would print a traceback with locals over the restored terminal: the user
        # gets one line naming the log file instead.
        self.bell()
        if not self._exit_renderables:  # one line, however many errors the stop caused
            self._exit_renderables.append(Text(failures.stopped_line()))
        self._close_messages_no_wait()

    def compose(self) -> ComposeResult:
        yield SessionTabs(self.build_terminal)
        yield Static(self._welcome_text(), id="welcome", markup=False)
        yield PrefixHint(self.router, self.settings)

    def on_load(self) -> None:
        # Textual's run() installs asyncio's eager task factory. asyncssh expects a new task
        # to start on a later loop turn: with eager tasks, an asyncssh server and client in one
        # loop (the demo) stall in public-key auth until the connect timeout, every time.
        # Plain tasks, before any session starts (tests/integration/test_cli_e2e.py's demo
        # test fails without this).
        asyncio.get_running_loop().set_task_factory(None)

    async def on_mount(self) -> None:
        if not self.is_headless:  # a real terminal: SIGUSR1 writes what the app waits on
            diagnostics.install(self, self.key_arrivals)
        for spec in self.themes.themes.values():
            self.register_theme(textual_theme(spec))
        self.apply_theme(self.settings.theme)
        for problem in self.problems:
            self.notify(problem, title="Configuration problem", severity="error", timeout=30)
        if self.startup_profiles or self.restore:
            self.call_after_refresh(self.run_worker, self._open_startup_tabs)

    async def _open_startup_tabs(self) -> None:
        """The profiles asked for on the command line, else the tabs of the last run."""
        if self.startup_profiles:
            tabs = [SavedTab(name) for name in self.startup_profiles]
        else:
            tabs, problem = load_tabs()
            if problem:
                self.notify(problem, severity="warning", timeout=15)
        self._restoring = True  # save once at the end, not a partial list per tab
        try:
            for tab in tabs:
                await self.open_profile(tab.profile, tab.tmux_session, tab.label)
        finally:
            self._restoring = False
        self.save_tabs()

    def save_tabs(self) -> None:
        """Remember the open tabs for the next start; a failure to write is only reported."""
        if self._restoring:
            return
        tabs = [
            SavedTab(pane.session.name, pane.session.tmux_session, pane.custom_label)
            for pane in self.tabs.panes
        ]
        try:
            save_tabs(tabs)
        except OSError as error:
            self.notify(f"Cannot remember the open tabs: {error}", severity="warning")

    @property
    def tabs(self) -> SessionTabs:
        """The tab bar with its session panes."""
        return self.query_one(SessionTabs)

    def _welcome_text(self) -> str:
        prefix = key_label(self.settings.prefix)
        new, help_key = bound_key(self.settings, "tab.new"), bound_key(self.settings, "help")
        return (
            f"No open tabs. Press {prefix} then {new} to connect; "
            f"{prefix} then {help_key} for help."
        )

    def _update_welcome(self) -> None:
        # While the app stops (after an error too) its screen may be gone: nothing to show.
        with contextlib.suppress(NoMatches):
            self.query_one("#welcome").display = not self.tabs.panes

    # --- the keyboard ------------------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        """Route keys for the main screen through the prefix router; dialogs get them as is."""
        if isinstance(event, events.Key) and not event.is_forwarded:
            self.key_arrivals.note()
            if not isinstance(self.screen, ModalScreen):
                routed = self.router.route(event.key, event.aliases)
                if routed.outcome is not Outcome.FORWARD:
                    await self._prefix_step(routed.outcome, routed.action, routed.key)
                    return
        await super().on_event(event)

    async def _prefix_step(self, outcome: Outcome, action: str | None, key: str) -> None:
        hint = self.query_one(PrefixHint)
        hint.follow(outcome)
        if outcome is Outcome.UNBOUND:
            help_key = bound_key(self.settings, "help")
            self.notify(
                f"{key_label(key)} does nothing after the prefix; {help_key} lists the keys"
            )
        elif outcome is Outcome.ACTION and action is not None:
            await self.run_keymap_action(action)
        hint.show()

    async def run_keymap_action(self, action_id: str) -> None:
        """Run the app action with this stable id (from the keymap or the palette), through
        Textual's action system."""
        await self.run_action(textual_action(action_id))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The command palette lists termkeep's own actions (and only those)."""
        del screen  # the same commands on every screen
        for action in ACTIONS:
            yield SystemCommand(
                action.description,
                action.id,
                functools.partial(self.run_keymap_action, action.id),
            )

    # --- tabs and sessions -------------------------------------------------------------------

    async def open_profile(
        self, name: str, tmux_session: str | None = None, label: str | None = None
    ) -> SessionPane | None:
        """Open a tab on the saved profile ``name`` (on ``tmux_session`` if given, named
        ``label`` if given); a profile that does not load is reported in one line."""
        try:
            session = self.open_session(name, tmux_session)
        except ConfigError as error:
            self.notify(str(error), title=f"Cannot open {name}", severity="error", timeout=15)
            return None
        session.set_palette(self._palette_for(session))
        pane = await self.tabs.open(session, label)
        self._update_welcome()
        self.save_tabs()
        return pane

    def on_session_pane_changed(self, message: SessionPane.Changed) -> None:
        """Keep the tab label's marker and title current."""
        # A session closing while the app shuts down can report after the tab bar is gone.
        for tabs in self.query(SessionTabs):
            tabs.refresh_label(message.pane)
        if message.pane.status.state is not message.previous:
            self.sweep.state_changed()
        self.broadcast.label_changed(message.pane)  # a new remote title renames the source

    def on_session_pane_alert(self, message: SessionPane.Alert) -> None:
        """A bell of the tab in front rings; a bell or a finished output in a background tab
        becomes a desktop notification when ``notify`` asks for one."""
        pane = message.pane
        if message.what is Mark.BELL and message.shown:
            self.desktop.bell()
        elif not message.shown and wanted(
            notify_mode(pane.session.profile, self.settings), message.what
        ):
            self.desktop.notify(pane.label, message.what)

    def action_tab_next_marked(self) -> None:
        """Show the next tab with new output, a bell or a finished run."""
        if self.tabs.next_marked() is None:
            self.notify("No other tab has new output, a bell or a finished run")

    def action_tab_new(self) -> None:
        """Pick a saved profile or an ssh_config Host, or type user@host[:port], and open a
        tab on it."""
        # asyncssh (the ssh_config parser) loads only when the picker opens: the app starts
        # without the session stack (tests/unit/test_startup_imports.py).
        from termkeep.transport.quick_connect import ssh_config_aliases  # noqa: PLC0415

        names = self.store.names()
        aliases = [alias for alias in ssh_config_aliases() if alias not in names]
        hint = "Type user@host[:port] and enter, or add a profile in the profile manager."
        picker = PickerScreen(
            "Open a host",
            names + aliases,
            hint,
            marks=dict.fromkeys(aliases, "ssh_config"),
            accept_typed=True,
        )
        self.push_screen(picker, self._picked_profile)

    async def _picked_profile(self, name: str | None) -> None:
        if name:
            await self.open_profile(name)

    def action_tab_close(self) -> None:
        """Close the active tab, asking first while it is connected."""
        pane = self.tabs.active_session_pane
        if pane is None:
            return
        if not pane.status.state.connected:
            self.run_worker(self._close_pane(pane))
            return

        async def decided(yes: bool | None) -> None:
            if yes:
                await self._close_pane(pane)

        question = f"Close {pane.label}? The tmux session stays on the server."
        self.push_screen(ConfirmScreen(question, "Close"), decided)

    async def _close_pane(self, pane: SessionPane) -> None:
        ended = self.broadcast.forget(pane)
        if ended:
            self.notify(ended)
        await pane.session.close()
        await self.tabs.close(pane)
        self._update_welcome()
        self.save_tabs()

    def action_tab_next(self) -> None:
        """Activate the next tab."""
        self.tabs.step(1)

    def action_tab_prev(self) -> None:
        """Activate the previous tab."""
        self.tabs.step(-1)

    def action_tab_goto(self, number: int) -> None:
        """Activate tab ``number`` (1-based)."""
        if not self.tabs.select(number - 1):
            self.notify(f"There is no tab {number}")

    def action_tab_rename(self) -> None:
        """Give the active tab a name of the user's choosing."""
        pane = self.tabs.active_session_pane
        if pane is None:
            return

        def renamed(name: str | None) -> None:
            pane.custom_label = name
            self.tabs.refresh_label(pane)
            self.broadcast.label_changed(pane)
            self.save_tabs()

        self.push_screen(TextInputScreen("Rename tab (empty: use the title)", pane.label), renamed)

    def action_tab_save_profile(self) -> None:
        """Save the active tab's host (opened as user@host or an ssh_config alias) as a
        profile, keeping its tmux session, so opening the profile reattaches this tab's
        work."""
        tab_actions.save_tab_as_profile(self)

    def action_tunnels_manage(self) -> None:
        """Show the active tab's tunnels: what each carries, add, remove, save."""
        tab_actions.show_tunnels(self)

    def action_log_toggle(self) -> None:
        """Start or stop the active tab's session log."""
        pane = self.tabs.active_session_pane
        if pane is not None:
            self.notify(f"{pane.label}: {pane.session.toggle_log()}")

    def action_session_reconnect(self) -> None:
        """Probe the active tab's host now instead of waiting for the next retry."""
        pane = self.tabs.active_session_pane
        if pane is not None:
            pane.session.reconnect_now()
            self.notify(f"{pane.label}: reconnecting now")

    def action_connection_history(self) -> None:
        """Show the active tab's connection history (drops, round trip, bytes)."""
        pane = self.tabs.active_session_pane
        if pane is None:
            self.notify("No tab open: its connection history shows here once there is one")
            return
        self.push_screen(ConnectionHistoryScreen(pane.label, pane.session.connection_history))

    def action_broadcast_pick(self) -> None:
        """Pick the tabs that receive what is typed in the active one (or all of them)."""
        tab_actions.pick_broadcast(self)

    def action_broadcast_off(self) -> None:
        """Stop broadcast input, whichever tab it comes from."""
        self.notify("Broadcast input is off" if self.broadcast.stop() else "Nothing is broadcast")

    async def action_scrollback_open(self) -> None:
        """Show the active tab's scrollback (the remote tmux pane's, or termkeep's own): the
        tab's terminal runs its own ``open_scrollback`` action, if it has one."""
        pane = self.tabs.active_session_pane
        body = pane.body if pane is not None else None
        if body is None or not await self.run_action("open_scrollback", body):
            self.notify("This tab has no history to show")

    def action_transfer_upload(self) -> None:
        """Pick a local file and upload it to the directory of the active tab's shell."""
        tab_actions.upload_to_tab(self)

    def action_transfer_download(self) -> None:
        """List the directory of the active tab's shell on the server and download from it."""
        tab_actions.download_from_tab(self)

    def action_transfers_show(self) -> None:
        """Show the active tab's transfers: state, progress, cancel and retry."""
        tab_actions.show_transfers(self)

    def action_demo_drop_network(self) -> None:
        """Demo only: cut the demo's network so the stall and the reattach can be seen."""
        if self.demo_drop is None:
            self.notify("Cutting the network is only available in `termkeep demo`")
            return
        self.demo_drop()

    # --- screens -----------------------------------------------------------------------------

    def action_profiles_manage(self) -> None:
        """Open the profile manager."""
        self.push_screen(
            ProfileManagerScreen(
                self.store,
                settings=self.settings,
                theme_names=self.themes.names(),
                manage_sessions=self.manage_sessions,
                save_open_tab=self._unsaved_open_tab(),
            )
        )

    def _unsaved_open_tab(self) -> tuple[str, Callable[[], None]] | None:
        """The active tab's host when it is not a saved profile (opened as ``user@host`` or
        an ssh_config alias), with the action that saves it; None otherwise."""
        pane = self.tabs.active_session_pane
        profile = pane.session.profile if pane is not None else None
        if pane is None or profile is None or self.store.exists(profile.name):
            return None
        return pane.label, self.action_tab_save_profile

    def action_sessions_manage(self) -> None:
        """The active tab's host: its termkeep tmux sessions that no tab holds."""
        tab_actions.manage_sessions_of_active_tab(self)

    def manage_sessions(self, name: str) -> None:
        """List profile ``name``'s tmux sessions on its host that no tab holds, to attach or
        kill; a profile that does not load is reported in one line."""
        tab_actions.manage_sessions(self, name)

    def action_theme_switch(self) -> None:
        """Pick a theme: each highlighted one is shown at once; escape goes back."""
        original = self.theme

        def picked(name: str | None) -> None:
            self.apply_theme(name or original)

        picker = PickerScreen(
            "Theme", self.themes.names(), preview=self.apply_theme, initial=original
        )
        self.push_screen(picker, picked)

    def apply_theme(self, name: str) -> None:
        """Switch the app and the terminals to theme ``name`` (or the fallback)."""
        spec = self.themes.resolve(name)
        if spec.name != name:
            self.notify(f"Theme {name!r} not found; using {spec.name!r}", severity="warning")
        self.theme = spec.name
        if spec.dark:
            self.ansi_theme_dark = ansi_theme(spec)
        else:
            self.ansi_theme_light = ansi_theme(spec)
        self.terminal_palette = terminal_palette(spec)
        for pane in self.tabs.panes:
            if pane.session.theme is None:
                pane.apply_palette(self.terminal_palette)

    def _palette_for(self, session: SessionLike) -> Palette:
        """A profile's own theme wins for its tab's terminal; the app theme otherwise."""
        if session.theme is None:
            return self.terminal_palette
        return terminal_palette(self.themes.resolve(session.theme))

    def action_palette(self) -> None:
        """Open the command palette (reachable through the prefix only)."""
        self.action_command_palette()

    def action_help(self) -> None:
        """Show every key of the live keymap."""
        by_id = {action.id: action for action in ACTIONS}
        rows = [
            (key_label(key), by_id[action_id].description, action_id)
            for action_id, key in self.settings.keys.items()
        ]
        sections = [
            ("In the profile manager (prefix m), without the prefix:", EDITOR_KEYS),
            ("In the file lists (prefix u, U):", FILE_KEYS),
            ("In the transfers view (prefix T):", TRANSFERS_KEYS),
            ("In the scrollback view (prefix [), without the prefix:", HISTORY_KEYS),
        ]
        self.push_screen(HelpScreen(key_label(self.settings.prefix), rows, sections))

    def action_app_quit(self) -> None:
        """Quit, asking first while sessions are open."""
        live = [pane for pane in self.tabs.panes if pane.status.state.connected]
        if not live:
            self.run_worker(self._quit())
            return

        async def decided(yes: bool | None) -> None:
            if yes:
                await self._quit()

        count = f"{len(live)} session{'s are' if len(live) > 1 else ' is'} open"
        question = f"Quit termkeep? {count}; their tmux sessions stay on the servers."
        self.push_screen(ConfirmScreen(question, "Quit"), decided)

    async def _quit(self) -> None:
        for pane in self.tabs.panes:
            await pane.session.close()
        self.exit()

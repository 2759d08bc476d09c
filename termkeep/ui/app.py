"""TermkeepApp: tabs of SSH sessions; the keyboard belongs to the remote except the prefix."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar, override

from rich.text import Text
from textual import events
from textual.app import App, ComposeResult, SystemCommand
from textual.css.query import NoMatches
from textual.notifications import SeverityLevel
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Static

from termkeep.config.errors import ConfigError
from termkeep.config.profile import InvalidProfileNameError, Profile
from termkeep.config.settings import ACTIONS, Settings, settings_or_defaults
from termkeep.config.store import ProfileStore
from termkeep.config.themes import ThemeCatalog, load_themes
from termkeep.records.tab_state import SavedTab, load_tabs, save_tabs
from termkeep.terminal.display_text import safe_text
from termkeep.terminal.palette import DEFAULT_PALETTE, Palette
from termkeep.transport.tmux_sessions import adoptable_legacy_base, claimed_by_others
from termkeep.ui import failures
from termkeep.ui.bindings import Outcome, PrefixRouter, key_label
from termkeep.ui.broadcast import Broadcast, tabs_word
from termkeep.ui.screens.broadcast import BroadcastPickerScreen
from termkeep.ui.screens.connection_history import ConnectionHistoryScreen
from termkeep.ui.screens.dialogs import ConfirmScreen, HelpScreen, PickerScreen, TextInputScreen
from termkeep.ui.screens.profiles import ProfileManagerScreen
from termkeep.ui.screens.prompts import AppPrompter
from termkeep.ui.screens.sessions import RemoteSessionsScreen
from termkeep.ui.session_api import SessionLike, SessionOpener
from termkeep.ui.theming import ansi_theme, terminal_palette, textual_theme
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
        self.use_command_palette = True  # reachable through the prefix only
        self._prefix_timer: Timer | None = None
        off_key = self.settings.keys.get("broadcast.off")
        stop_hint = (
            f"{key_label(self.settings.prefix)} {key_label(off_key)} stops"
            if off_key
            else "the palette's Broadcast input off stops"
        )
        # A lambda: the tab bar exists only once the app is composed.
        relabel = lambda pane: self.tabs.refresh_label(pane)  # noqa: E731, PLW0108
        self.broadcast = Broadcast(self.settings.prefix, stop_hint, relabel)
        """What is typed in one tab that goes to others too (prefix b picks, B stops)."""

    # --- layout and start-up -----------------------------------------------------------------

    def open_session(self, name: str, tmux_session: str | None = None) -> SessionLike:
        """Make the session for profile ``name`` (a real one unless the caller gave an
        opener); raises ConfigError when the profile does not load."""
        if self._open_session is None:
            from termkeep.ui.live_session import live_session_opener  # noqa: PLC0415 - see __init__

            self._open_session = live_session_opener(
                self.store, AppPrompter(self), self.settings, self.terminal_palette
            )
        return self._open_session(name, tmux_session)

    def build_terminal(self, session: SessionLike) -> Widget:
        """The widget that shows ``session``'s screen (a TerminalView for real sessions)."""
        if self._terminal_factory is None:
            from termkeep.ui.live_session import live_terminal_factory  # noqa: PLC0415 - see __init__

            self._terminal_factory = live_terminal_factory(self.settings)
        return self._terminal_factory(session)

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
        yield Static(id="prefix-hint", markup=False)

    def on_load(self) -> None:
        # Textual's run() installs asyncio's eager task factory. asyncssh expects a new task
        # to start on a later loop turn: with eager tasks, an asyncssh server and client in one
        # loop (the demo) stall in public-key auth until the connect timeout, every time.
        # Plain tasks, before any session starts (tests/integration/test_cli_e2e.py's demo
        # test fails without this).
        asyncio.get_running_loop().set_task_factory(None)

    async def on_mount(self) -> None:
        for spec in self.themes.themes.values():
            self.register_theme(textual_theme(spec))
        self.apply_theme(self.settings.theme)
        self._show_prefix_hint()
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

    def _key_of(self, action_id: str) -> str:
        """How the key bound to ``action_id`` is shown (``unbound`` when remapped away)."""
        key = self.settings.keys.get(action_id)
        return key_label(key) if key else "unbound"

    def _welcome_text(self) -> str:
        prefix = key_label(self.settings.prefix)
        new, help_key = self._key_of("tab.new"), self._key_of("help")
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
        if (
            isinstance(event, events.Key)
            and not event.is_forwarded
            and not isinstance(self.screen, ModalScreen)
        ):
            routed = self.router.route(event.key, event.aliases)
            if routed.outcome is not Outcome.FORWARD:
                self._prefix_step(routed.outcome, routed.action, routed.key)
                return
        await super().on_event(event)

    def _prefix_step(self, outcome: Outcome, action: str | None, key: str) -> None:
        if outcome is Outcome.ARMED:
            timeout = self.settings.prefix_timeout
            self._prefix_timer = self.set_timer(timeout, self._prefix_timeout) if timeout else None
        elif outcome is not Outcome.IGNORED:
            self._stop_prefix_timer()
        if outcome is Outcome.UNBOUND:
            help_key = self._key_of("help")
            self.notify(
                f"{key_label(key)} does nothing after the prefix; {help_key} lists the keys"
            )
        elif outcome is Outcome.ACTION and action is not None:
            self.run_keymap_action(action)
        self._show_prefix_hint()

    def _prefix_timeout(self) -> None:
        self.router.cancel()
        self._show_prefix_hint()

    def _stop_prefix_timer(self) -> None:
        if self._prefix_timer is not None:
            self._prefix_timer.stop()
            self._prefix_timer = None

    def _show_prefix_hint(self) -> None:
        hint = self.query_one("#prefix-hint", Static)
        prefix = key_label(self.settings.prefix)
        if self.router.armed:
            help_key = self._key_of("help")
            hint.update(f" {prefix} … press an action key (escape cancels, {help_key} for help)")
        else:
            hint.update(f" {prefix} {self._key_of('help')} help")
        hint.set_class(self.router.armed, "-armed")

    def run_keymap_action(self, action_id: str) -> None:
        """Run the app action with this stable id (from the keymap or the palette)."""
        if action_id.startswith("tab.goto."):
            self.action_goto_tab(int(action_id.rpartition(".")[2]))
            return
        handlers: dict[str, Callable[[], object]] = {
            "tab.new": self.action_new_tab,
            "tab.close": self.action_close_tab,
            "tab.next": lambda: self.tabs.step(1),
            "tab.prev": lambda: self.tabs.step(-1),
            "tab.rename": self.action_rename_tab,
            "tab.save_profile": self.action_save_profile,
            "log.toggle": self.action_toggle_log,
            "tunnels.manage": self.action_manage_tunnels,
            "session.reconnect": self.action_reconnect,
            "connection.history": self.action_connection_history,
            "broadcast.pick": self.action_pick_broadcast,
            "broadcast.off": self.action_broadcast_off,
            "profiles.manage": self.action_manage_profiles,
            "sessions.manage": self.action_manage_sessions,
            "theme.switch": self.action_switch_theme,
            "scrollback.open": self.action_open_scrollback,
            "help": self.action_help,
            "palette": self.action_command_palette,
            "app.quit": self.action_ask_quit,
            "demo.drop_network": self.action_drop_network,
        }
        result = handlers[action_id]()
        if inspect.isawaitable(result):  # async actions (close, ...) run as workers
            self.run_worker(result)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The command palette lists termkeep's own actions (and only those)."""
        del screen  # the same commands on every screen
        for action in ACTIONS:
            yield SystemCommand(
                action.description,
                action.id,
                lambda action_id=action.id: self.run_keymap_action(action_id),
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
        self.broadcast.label_changed(message.pane)  # a new remote title renames the source

    def action_new_tab(self) -> None:
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

    async def action_close_tab(self) -> None:
        """Close the active tab, asking first while it is connected."""
        pane = self.tabs.active_session_pane
        if pane is None:
            return
        if not pane.status.state.connected:
            await self._close_pane(pane)
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

    def action_goto_tab(self, number: int) -> None:
        """Activate tab ``number`` (1-based)."""
        if not self.tabs.select(number - 1):
            self.notify(f"There is no tab {number}")

    def action_rename_tab(self) -> None:
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

    def action_save_profile(self) -> None:
        """Save the active tab's host (opened as user@host or an ssh_config alias) as a
        profile, keeping its tmux session, so opening the profile reattaches this tab's
        work."""
        pane = self.tabs.active_session_pane
        profile = pane.session.profile if pane is not None else None
        if pane is None or profile is None:
            self.notify("This tab has no host to save")
            return
        if self.store.exists(profile.name) and self.store.load(profile.name) == profile:
            self.notify(f"{profile.name} is already a saved profile")
            return

        tunnels = pane.session.tunnels
        if tunnels is not None:  # forwards added in the tunnels view are saved too
            profile = dataclasses.replace(profile, forwards=tunnels.forwards)

        def named(name: str | None) -> None:
            if name:
                self._save_tab_profile(profile, name.strip(), pane.session.tmux_session)

        suggestion = profile.host if not self.store.exists(profile.host) else ""
        self.push_screen(TextInputScreen("Save this host as profile", suggestion), named)

    def _save_tab_profile(self, profile: Profile, name: str, tmux_session: str | None) -> None:
        try:
            # save() validates the name and refuses to overwrite an existing profile.
            tmux = dataclasses.replace(profile.tmux, session=tmux_session or profile.tmux.session)
            self.store.save(dataclasses.replace(profile, name=name, tmux=tmux))
        except (ConfigError, InvalidProfileNameError, OSError) as error:
            self.notify(str(error), title="Not saved", severity="error", timeout=15)
            return
        self.notify(f"Saved {name}: it opens this tab's tmux session")

    def action_manage_tunnels(self) -> None:
        """Show the active tab's tunnels: what each carries, add, remove, save."""
        pane = self.tabs.active_session_pane
        tunnels = pane.session.tunnels if pane is not None else None
        if pane is None or tunnels is None:
            self.notify("This tab carries no tunnels")
            return
        # Only a tab with tunnels has loaded the transport (asyncssh) this screen shows.
        from termkeep.ui.screens.tunnels import TunnelsScreen  # noqa: PLC0415

        session = pane.session
        self.push_screen(TunnelsScreen(pane.label, tunnels, lambda: self._save_forwards(session)))

    def _save_forwards(self, session: SessionLike) -> str:
        """Write the tab's running forwards into its saved profile."""
        profile, tunnels = session.profile, session.tunnels
        if profile is None or tunnels is None or not self.store.exists(profile.name):
            key = self._key_of("tab.save_profile")
            return f"This tab has no saved profile: save it first (prefix {key})"
        try:
            saved = self.store.load(profile.name)
            self.store.save(dataclasses.replace(saved, forwards=tunnels.forwards), replace=True)
        except (ConfigError, OSError) as error:
            return f"Not saved: {error}"
        count = len(tunnels.forwards)
        return f"Saved {count} forward{'s' if count != 1 else ''} to {profile.name}"

    def action_toggle_log(self) -> None:
        """Start or stop the active tab's session log."""
        pane = self.tabs.active_session_pane
        if pane is not None:
            self.notify(f"{pane.label}: {pane.session.toggle_log()}")

    def action_reconnect(self) -> None:
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

    def action_pick_broadcast(self) -> None:
        """Pick the tabs that receive what is typed in the active one (or all of them)."""
        source = self.tabs.active_session_pane
        others = [pane for pane in self.tabs.panes if pane is not source]
        if source is None or not others:
            self.notify("Broadcast input needs two tabs: open another one first")
            return
        receiving = self.broadcast.targets if self.broadcast.source is source else []
        tabs = [(str(pane.id), pane.label) for pane in others]
        picker = BroadcastPickerScreen(source.label, tabs, [str(pane.id) for pane in receiving])

        def picked(tab_ids: list[str] | None) -> None:
            if tab_ids is None:
                return
            targets = [pane for pane in others if pane.id in tab_ids and pane.is_attached]
            if not targets:
                self.action_broadcast_off()
            elif self.broadcast.start(source, targets):
                count = tabs_word(len(targets))
                self.notify(f"Broadcasting what is typed in {source.label} to {count}")
            else:
                self.notify(f"{source.label} cannot broadcast: its terminal is not a real one")

        self.push_screen(picker, picked)

    def action_broadcast_off(self) -> None:
        """Stop broadcast input, whichever tab it comes from."""
        self.notify("Broadcast input is off" if self.broadcast.stop() else "Nothing is broadcast")

    def action_open_scrollback(self) -> None:
        """Show the active tab's scrollback (the remote tmux pane's, or termkeep's own)."""
        pane = self.tabs.active_session_pane
        open_scrollback = getattr(pane.session, "open_scrollback", None) if pane else None
        if open_scrollback is None:
            self.notify("This tab has no history to show")
            return
        open_scrollback()

    def action_drop_network(self) -> None:
        """Demo only: cut the demo's network so the stall and the reattach can be seen."""
        if self.demo_drop is None:
            self.notify("Cutting the network is only available in `termkeep demo`")
            return
        self.demo_drop()

    # --- screens -----------------------------------------------------------------------------

    def action_manage_profiles(self) -> None:
        """Open the profile manager."""
        self.push_screen(
            ProfileManagerScreen(
                self.store,
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
        return pane.label, self.action_save_profile

    def action_manage_sessions(self) -> None:
        """The active tab's host: its termkeep tmux sessions that no tab holds."""
        pane = self.tabs.active_session_pane
        if pane is not None:
            self.manage_sessions(pane.session.name)
            return
        names = self.store.names()
        hint = "No saved profiles yet: add one in the profile manager."
        self.push_screen(
            PickerScreen("tmux sessions on which host?", names, hint), self._picked_host
        )

    def _picked_host(self, name: str | None) -> None:
        if name:
            self.manage_sessions(name)

    def manage_sessions(self, name: str) -> None:
        """List profile ``name``'s tmux sessions on its host that no tab holds, to attach or
        kill; a profile that does not load is reported in one line."""
        try:
            profile = self.store.load(name)
        except ConfigError as error:
            self.notify(str(error), title=f"Cannot open {name}", severity="error", timeout=15)
            return
        # asyncssh is loaded only when a host is really asked (see __init__).
        from termkeep.session import profile_lookup  # noqa: PLC0415
        from termkeep.transport.remote_sessions import RemoteSessions  # noqa: PLC0415

        saved = self.store.load_all().profiles
        remote = RemoteSessions(
            profile,
            AppPrompter(self),
            lookup_profile=profile_lookup(self.store),
            claimed=claimed_by_others(profile, saved),
            legacy=adoptable_legacy_base(profile, saved),
        )

        def held() -> list[str | None]:
            return [
                pane.session.tmux_session for pane in self.tabs.panes if pane.session.name == name
            ]

        async def attach(tmux_session: str | None) -> None:
            if tmux_session is None:
                return
            if isinstance(self.screen, ProfileManagerScreen):
                self.screen.dismiss(None)  # the new tab is what the user wants to see
            await self.open_profile(name, tmux_session)

        screen = RemoteSessionsScreen(
            name,
            profile.destination,
            list_sessions=remote.list,
            kill_session=remote.kill,
            held=held,
            # Without tmux the tab would open a plain shell, not the session picked.
            attach_refusal=None
            if profile.tmux.enabled
            else f"tmux is off for {name}: turn it on in the profile manager to attach",
        )
        self.push_screen(screen, attach)

    def action_switch_theme(self) -> None:
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

    def action_help(self) -> None:
        """Show every key of the live keymap."""
        by_id = {action.id: action for action in ACTIONS}
        rows = [
            (key_label(key), by_id[action_id].description, action_id)
            for action_id, key in self.settings.keys.items()
        ]
        self.push_screen(HelpScreen(key_label(self.settings.prefix), rows))

    def action_ask_quit(self) -> None:
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

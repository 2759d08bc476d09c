"""The app's actions on the active tab that open a screen or start a flow. Each takes the
app, finds the active tab and says in one line when there is none; TermkeepApp's actions
call them, so the app class keeps only app-level work."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from termkeep.config.errors import ConfigError
from termkeep.ui.broadcast import tabs_word
from termkeep.ui.screens.broadcast import BroadcastPickerScreen
from termkeep.ui.screens.dialogs import PickerScreen, TextInputScreen
from termkeep.ui.screens.profiles import ProfileManagerScreen
from termkeep.ui.screens.prompts import AppPrompter
from termkeep.ui.screens.sessions import RemoteSessionsScreen
from termkeep.ui.tab_profile import profile_of_tab, save_forwards, save_tab_profile
from termkeep.ui.widgets.prefix_hint import bound_key

if TYPE_CHECKING:
    from termkeep.ui.app import TermkeepApp


def save_tab_as_profile(app: TermkeepApp) -> None:
    """Save the active tab's host (opened as user@host or an ssh_config alias) as a
    profile, keeping its tmux session, so opening the profile reattaches this tab's
    work."""
    pane = app.tabs.active_session_pane
    running = pane.session.profile if pane is not None else None
    if pane is None or running is None:
        app.notify("This tab has no host to save")
        return
    if app.store.exists(running.name) and app.store.load(running.name) == running:
        app.notify(f"{running.name} is already a saved profile")
        return
    profile = profile_of_tab(pane.session) or running

    def named(name: str | None) -> None:
        if not name:
            return
        name = name.strip()
        problem = save_tab_profile(app.store, profile, name, pane.session.tmux_session)
        if problem is not None:
            app.notify(problem, title="Not saved", severity="error", timeout=15)
        else:
            app.notify(f"Saved {name}: it opens this tab's tmux session")

    suggestion = profile.host if not app.store.exists(profile.host) else ""
    app.push_screen(TextInputScreen("Save this host as profile", suggestion), named)


def show_tunnels(app: TermkeepApp) -> None:
    """Show the active tab's tunnels: what each carries, add, remove, save."""
    pane = app.tabs.active_session_pane
    tunnels = pane.session.tunnels if pane is not None else None
    if pane is None or tunnels is None:
        app.notify("This tab carries no tunnels")
        return
    # Only a tab with tunnels has loaded the transport (asyncssh) this screen shows.
    from termkeep.ui.screens.tunnels import TunnelsScreen  # noqa: PLC0415

    session, save_key = pane.session, bound_key(app.settings, "tab.save_profile")
    save = functools.partial(save_forwards, app.store, session, save_key)
    app.push_screen(TunnelsScreen(pane.label, tunnels, save))


def pick_broadcast(app: TermkeepApp) -> None:
    """Pick the tabs that receive what is typed in the active one (or all of them)."""
    source = app.tabs.active_session_pane
    others = [pane for pane in app.tabs.panes if pane is not source]
    if source is None or not others:
        app.notify("Broadcast input needs two tabs: open another one first")
        return
    receiving = app.broadcast.targets if app.broadcast.source is source else []
    tabs = [(str(pane.id), pane.label) for pane in others]
    picker = BroadcastPickerScreen(source.label, tabs, [str(pane.id) for pane in receiving])

    def picked(tab_ids: list[str] | None) -> None:
        if tab_ids is None:
            return
        targets = [pane for pane in others if pane.id in tab_ids and pane.is_attached]
        if not targets:
            app.action_broadcast_off()
        elif app.broadcast.start(source, targets):
            count = tabs_word(len(targets))
            app.notify(f"Broadcasting what is typed in {source.label} to {count}")
        else:
            app.notify(f"{source.label} cannot broadcast: its terminal is not a real one")

    app.push_screen(picker, picked)


def upload_to_tab(app: TermkeepApp) -> None:
    """Pick a local file and upload it to the directory of the active tab's shell."""
    from termkeep.ui.transfer_flow import upload_flow  # noqa: PLC0415 - on first use (TermkeepApp.__init__)

    pane = app.tabs.active_session_pane
    if pane is None:
        app.notify("No tab open: files go to a tab's host")
        return
    # The tab's worker: a failure is the tab's (ui/failures.py), not the app's.
    pane.run_worker(upload_flow(app, pane.session, pane.label), exit_on_error=False)


def download_from_tab(app: TermkeepApp) -> None:
    """List the directory of the active tab's shell on the server and download from it."""
    from termkeep.ui.transfer_flow import download_flow  # noqa: PLC0415 - on first use (TermkeepApp.__init__)

    pane = app.tabs.active_session_pane
    if pane is None:
        app.notify("No tab open: files come from a tab's host")
        return
    flow = download_flow(app, pane.session, pane.label, app.settings)
    pane.run_worker(flow, exit_on_error=False)


def show_transfers(app: TermkeepApp) -> None:
    """Show the active tab's transfers: state, progress, cancel and retry."""
    pane = app.tabs.active_session_pane
    transfers = pane.session.transfers if pane is not None else None
    if pane is None or transfers is None:
        app.notify("This tab carries no transfers")
        return
    from termkeep.ui.screens.transfers import TransfersScreen  # noqa: PLC0415

    app.push_screen(TransfersScreen(pane.label, transfers))


def manage_sessions_of_active_tab(app: TermkeepApp) -> None:
    """The active tab's host: its termkeep tmux sessions that no tab holds (with no tab,
    the user picks the host)."""
    pane = app.tabs.active_session_pane
    if pane is not None:
        app.manage_sessions(pane.session.name)
        return
    names = app.store.names()
    hint = "No saved profiles yet: add one in the profile manager."

    def picked(name: str | None) -> None:
        if name:
            app.manage_sessions(name)

    app.push_screen(PickerScreen("tmux sessions on which host?", names, hint), picked)


def manage_sessions(app: TermkeepApp, name: str) -> None:
    """List profile ``name``'s tmux sessions on its host that no tab holds, to attach or
    kill; a profile that does not load is reported in one line."""
    try:
        profile = app.store.load(name)
    except ConfigError as error:
        app.notify(str(error), title=f"Cannot open {name}", severity="error", timeout=15)
        return

    async def attach(tmux_session: str | None) -> None:
        if tmux_session is None:
            return
        if isinstance(app.screen, ProfileManagerScreen):
            app.screen.dismiss(None)  # the new tab is what the user wants to see
        await app.open_profile(name, tmux_session)

    held = functools.partial(app.tabs.tmux_sessions_of, name)
    screen = RemoteSessionsScreen.for_profile(profile, app.store, AppPrompter(app), held)
    app.push_screen(screen, attach)

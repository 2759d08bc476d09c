"""The host's termkeep tmux sessions that no tab holds: listed, attached and killed from the
app, against a real OpenSSH sshd and a real, private tmux (the remote calls are the real ones
the app makes; only the snapshot uses a fixed listing, so its picture is stable)."""

from __future__ import annotations

import dataclasses
import shutil
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from textual.app import App
from textual.content import Content
from textual.pilot import Pilot
from textual.widgets import Button, Label
from textual.worker import Worker, WorkerState

from termkeep.config.profile import Profile
from termkeep.config.store import ProfileStore
from termkeep.supervisor.phase import Phase
from termkeep.terminal.durations import AGE, duration_text
from termkeep.tmux.sessions import RemoteTmuxSession, SessionListing
from termkeep.ui.app import TermkeepApp
from termkeep.ui.live_session import LiveSession
from termkeep.ui.screens.dialogs import ConfirmScreen, PickerScreen
from termkeep.ui.screens.profiles import ProfileManagerScreen
from termkeep.ui.screens.prompts import UnknownHostKeyScreen
from termkeep.ui.screens.sessions import RemoteSessionsScreen
from tests.fixtures.sshd import SshServer
from tests.ui.fakes import RecordingApp
from tests.ui.pilot import LIVE, PREFIX, wait_for

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")


def save_web(store: ProfileStore, server: SshServer, port: int | None = None) -> None:
    store.save(
        Profile(
            name="web",
            host=server.host,
            port=port or server.port,
            user=server.user,
            identity_files=(str(server.client_key),),
            known_hosts_file=str(server.known_hosts),
        )
    )


def make_sessions(server: SshServer, *names: str) -> None:
    for name in names:
        server.tmux("new-session", "-d", "-s", name, check=True)


def session_names(server: SshServer) -> set[str]:
    listing = server.tmux("list-sessions", "-F", "#{session_name}")
    return set(listing.stdout.splitlines()) if listing.returncode == 0 else set()


async def sessions_screen(app: App[None], pilot: Pilot[None]) -> RemoteSessionsScreen:
    await wait_for(
        pilot, lambda: isinstance(app.screen, RemoteSessionsScreen), "the screen", bound=LIVE
    )
    screen = app.screen
    assert isinstance(screen, RemoteSessionsScreen)
    await wait_for(pilot, lambda: not screen.loading, "the host's answer", bound=LIVE)
    return screen


def shown(screen: RemoteSessionsScreen) -> list[str]:
    return [session.name for session in screen.sessions]


def state_text(screen: RemoteSessionsScreen) -> str:
    return str(screen.query_one("#sessions-state").render())


def error_text(screen: RemoteSessionsScreen) -> str:
    return str(screen.query_one("#sessions-error").render())


async def test_lists_the_unheld_sessions_kills_one_and_attaches_another(
    sshd: SshServer, store: ProfileStore
) -> None:
    make_sessions(sshd, "termkeep-web", "termkeep-web-2", "termkeep-web-3", "termkeep-webby")
    save_web(store, sshd)
    app = RecordingApp(store)
    async with app.run_test(size=(110, 30)) as pilot:
        await app.open_profile("web")  # this tab holds termkeep-web
        await pilot.press(PREFIX, "s")
        screen = await sessions_screen(app, pilot)
        assert shown(screen) == ["termkeep-web-2", "termkeep-web-3"]
        assert error_text(screen) == ""
        assert state_text(screen) == "2 sessions without a tab."

        await pilot.press("k")  # the highlighted one, termkeep-web-2: asks first
        assert isinstance(app.screen, ConfirmScreen)
        assert "termkeep-web-2" in app.screen.question
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: shown(screen) == ["termkeep-web-3"] and not screen.loading,
            "the kill",
            bound=LIVE,
        )
        assert session_names(sshd) == {"termkeep-web", "termkeep-web-3", "termkeep-webby"}
        assert any("Killed the tmux session termkeep-web-2" in m for m in app.messages)

        await pilot.press("a")
        await wait_for(
            pilot, lambda: len(app.tabs.panes) == 2, "a tab on termkeep-web-3", bound=LIVE
        )
        assert not isinstance(app.screen, RemoteSessionsScreen)
        assert app.tabs.panes[-1].session.tmux_session == "termkeep-web-3"


async def test_declining_the_kill_touches_nothing(sshd: SshServer, store: ProfileStore) -> None:
    make_sessions(sshd, "termkeep-web")
    save_web(store, sshd)
    app = RecordingApp(store)
    async with app.run_test(size=(110, 30)) as pilot:
        await pilot.pause()  # the app is up before a screen goes over it
        app.manage_sessions("web")
        screen = await sessions_screen(app, pilot)
        assert shown(screen) == ["termkeep-web"]
        await pilot.press("k", "n")
        assert app.screen is screen
        assert session_names(sshd) == {"termkeep-web"}
        make_sessions(sshd, "termkeep-web-2")
        await pilot.press("r")  # refresh: a fresh connection sees the new one
        await wait_for(pilot, lambda: len(screen.sessions) == 2, "the refreshed list", bound=LIVE)
        assert shown(screen) == ["termkeep-web", "termkeep-web-2"]
        await pilot.press("escape")
        assert not app.tabs.panes


async def test_a_real_tab_attaches_the_picked_session(sshd: SshServer, store: ProfileStore) -> None:
    make_sessions(sshd, "termkeep-web-2")
    save_web(store, sshd)
    app = RecordingApp(store, open_session=None)  # the real opener: a real Session attaches
    async with app.run_test(size=(110, 30)) as pilot:
        await pilot.press(PREFIX, "s")  # no tab yet: pick the host first
        assert isinstance(app.screen, PickerScreen)
        await pilot.press(*"web", "enter")
        screen = await sessions_screen(app, pilot)
        assert shown(screen) == ["termkeep-web-2"]
        assert state_text(screen) == "1 session without a tab."
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(app.tabs.panes) == 1, "the tab", bound=LIVE)
        pane = app.tabs.panes[0]
        assert isinstance(pane.session, LiveSession)
        await wait_for(pilot, lambda: pane.status.state is Phase.ATTACHED, "attach", bound=LIVE)
        clients = sshd.tmux("list-clients", "-t", "=termkeep-web-2", "-F", "#{client_tty}")
        assert clients.stdout.strip()
        assert session_names(sshd) == {"termkeep-web-2"}  # attached, not a fresh termkeep-web
        # Now a tab holds it: asked again, the host's only session is not offered.
        await pilot.press(PREFIX, "s")
        again = await sessions_screen(app, pilot)
        assert shown(again) == []
        assert state_text(again) == "No tmux sessions of web without a tab (1 held by open tabs)."
        await pilot.press("escape")
        await pane.session.close()


async def test_from_the_profile_manager_and_attach_closes_it(
    sshd: SshServer, store: ProfileStore
) -> None:
    make_sessions(sshd, "termkeep-web-4", "termkeep-web-5")
    save_web(store, sshd)
    # Profile web-5 on the same login starts from termkeep-web-5: that one is left to it.
    store.save(dataclasses.replace(store.load("web"), name="web-5"))
    app = RecordingApp(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(PREFIX, "m")
        manager = app.screen
        assert isinstance(manager, ProfileManagerScreen)
        sessions_button = manager.query_one("#sessions", Button)
        sessions_button.press()  # the button may sit below the form's visible part
        await pilot.pause()
        assert "Save the profile first" in str(manager.query_one("#form-errors").render())
        manager.reload(select="web")
        await wait_for(pilot, lambda: manager.editing == "web", "web in the form", bound=LIVE)
        sessions_button.press()
        screen = await sessions_screen(app, pilot)
        assert shown(screen) == ["termkeep-web-4"]
        await pilot.press("a")
        await wait_for(pilot, lambda: len(app.tabs.panes) == 1, "the tab", bound=LIVE)
        assert app.tabs.panes[0].session.tmux_session == "termkeep-web-4"
        assert not isinstance(app.screen, ProfileManagerScreen | RemoteSessionsScreen)


async def test_a_host_that_cannot_be_reached_is_said_inline(
    sshd: SshServer, store: ProfileStore
) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    save_web(store, sshd, port=closed_port)
    app = RecordingApp(store)
    async with app.run_test(size=(110, 30)) as pilot:
        await pilot.pause()  # the app is up before a screen goes over it
        app.manage_sessions("web")
        screen = await sessions_screen(app, pilot)
        assert shown(screen) == []
        assert error_text(screen).startswith("Cannot list the tmux sessions: connection refused")
        await pilot.press("a")
        assert app.screen is screen
        assert error_text(screen) == "Nothing to attach: no session is selected"


async def test_closing_while_the_host_is_silent_leaves_nothing_behind(
    sshd: SshServer, store: ProfileStore
) -> None:
    with socket.socket() as silent:  # the kernel accepts; nobody ever speaks SSH
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        save_web(store, sshd, port=silent.getsockname()[1])
        app = RecordingApp(store)
        async with app.run_test(size=(110, 30)) as pilot:
            await pilot.pause()
            app.manage_sessions("web")
            await wait_for(
                pilot, lambda: isinstance(app.screen, RemoteSessionsScreen), "screen", bound=LIVE
            )
            screen = app.screen
            assert isinstance(screen, RemoteSessionsScreen)

            def listings() -> list[Worker[None]]:
                return [worker for worker in app.workers if worker.node is screen]

            await wait_for(pilot, lambda: bool(listings()), "the listing to start", bound=LIVE)
            assert screen.loading
            (listing,) = listings()
            assert not listing.is_finished
            await pilot.press("escape")
            await wait_for(pilot, lambda: listing.is_finished, "the listing to stop", bound=LIVE)
            assert listing.state is WorkerState.CANCELLED
            assert not isinstance(app.screen, RemoteSessionsScreen)
        # run_test re-raises anything the cancelled worker did to the app; nothing came.


@pytest.mark.parametrize("button", ["once", "reject"])
async def test_an_unknown_host_key_is_asked_like_for_a_tab(
    sshd: SshServer, store: ProfileStore, tmp_path: Path, button: str
) -> None:
    make_sessions(sshd, "termkeep-web")
    save_web(store, sshd)
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    store.save(dataclasses.replace(store.load("web"), known_hosts_file=str(empty)), replace=True)
    app = RecordingApp(store)
    async with app.run_test(size=(110, 40)) as pilot:
        await pilot.pause()
        app.manage_sessions("web")
        # The screen is pushed before its buttons are mounted: wait for the button itself.
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, UnknownHostKeyScreen)
                and bool(app.screen.query(f"#{button}"))
            ),
            "the host key question",
            bound=LIVE,
        )
        app.screen.query_one(f"#{button}", Button).press()
        screen = await sessions_screen(app, pilot)
        if button == "once":
            assert shown(screen) == ["termkeep-web"]
            assert empty.read_text() == ""  # accepted once: nothing written
        else:
            assert shown(screen) == []
            assert error_text(screen).startswith("Cannot list the tmux sessions: host key")


async def test_with_tmux_off_attach_says_why(sshd: SshServer, store: ProfileStore) -> None:
    make_sessions(sshd, "termkeep-web")
    save_web(store, sshd)
    web = store.load("web")
    no_tmux = dataclasses.replace(web, tmux=dataclasses.replace(web.tmux, enabled=False))
    store.save(no_tmux, replace=True)
    app = RecordingApp(store)
    async with app.run_test(size=(110, 30)) as pilot:
        await pilot.pause()
        app.manage_sessions("web")
        screen = await sessions_screen(app, pilot)
        assert shown(screen) == ["termkeep-web"]  # left from when tmux was on: still killable
        await pilot.press("a")
        assert app.screen is screen
        assert error_text(screen).startswith("tmux is off for web: turn it on")
        assert not app.tabs.panes


async def test_a_profile_that_does_not_load_is_one_line(store: ProfileStore) -> None:
    app = RecordingApp(store)
    async with app.run_test(size=(110, 30)):
        app.manage_sessions("nosuch")
        assert not isinstance(app.screen, RemoteSessionsScreen)
        assert any("nosuch" in message for message in app.messages)


def test_age_text_is_coarse() -> None:
    assert [duration_text(s, AGE) for s in (-3, 40, 720, 3 * 3600 + 300, 2 * 86400 + 4 * 3600)] == [
        "0 s",
        "40 s",
        "12 min",
        "3 h 5 min",
        "2 d 4 h",
    ]


NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


class SessionsApp(App[None]):
    """The screen alone over an empty app, with termkeep's stylesheet and a fixed listing."""

    CSS_PATH = TermkeepApp.CSS_PATH

    def on_mount(self) -> None:
        listing = SessionListing(
            (
                RemoteTmuxSession("termkeep-web", datetime(2026, 11, 24, 8, 0, tzinfo=UTC), 0, 1),
                RemoteTmuxSession("termkeep-web-2", datetime(2026, 11, 26, 9, 0, tzinfo=UTC), 0, 3),
                RemoteTmuxSession(
                    "termkeep-web-3", datetime(2026, 11, 26, 11, 48, tzinfo=UTC), 1, 1
                ),
            )
        )

        async def list_sessions() -> SessionListing:
            return listing

        async def kill_session(name: str) -> None:
            raise AssertionError(f"the snapshot kills nothing ({name})")

        self.push_screen(
            RemoteSessionsScreen(
                "web",
                "alice@web.example:22",
                list_sessions=list_sessions,
                kill_session=kill_session,
                held=lambda: ["termkeep-web-5"],  # held by a tab, not on the host
                now=lambda: NOW,
            )
        )


def test_snapshot(snap_compare: Callable[..., bool]) -> None:
    assert snap_compare(SessionsApp(), terminal_size=(110, 20))


async def test_a_hostile_user_name_and_its_listing_error_are_plain_text(
    sshd: SshServer, store: ProfileStore
) -> None:
    # termkeep's own tmux names are sanitised, so what outside text the dialog shows comes
    # from the profile (a name in a file or an import) and from the server's refusal.
    hostile_user = "[@click=app.quit]x[/][/nope]"
    store.save(
        Profile(
            name="web",
            host=sshd.host,
            port=sshd.port,
            user=hostile_user,
            identity_files=(str(sshd.client_key),),
            known_hosts_file=str(sshd.known_hosts),
        )
    )
    app = RecordingApp(store)
    async with app.run_test(size=(110, 30), notifications=True) as pilot:
        await pilot.pause()
        app.manage_sessions("web")
        screen = await sessions_screen(app, pilot)
        title = screen.query_one(Label).render()
        assert isinstance(title, Content)
        assert not title.spans
        assert hostile_user in title.plain
        assert error_text(screen)  # the refusal, shown as text
        assert app.is_running

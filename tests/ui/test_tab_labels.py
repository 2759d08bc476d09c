"""Tabs of one profile are told apart ("labhost", "labhost 2", …) after their tmux
sessions, on a real sshd and tmux: in the tab bar, the broadcast picker and the remote
sessions list, and again after a restart."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import OptionList, TabPane

from termkeep.config.store import ProfileStore
from termkeep.supervisor.phase import Phase
from termkeep.ui.screens.broadcast import BroadcastPickerScreen
from termkeep.ui.widgets.session_pane import SessionPane
from termkeep.ui.widgets.session_tabs import SessionTabs
from tests.fixtures.profiles import profile_for
from tests.fixtures.sshd import SshServer
from tests.ui.fakes import RecordingApp
from tests.ui.pilot import LIVE, PREFIX, wait_for
from tests.ui.test_remote_sessions import sessions_screen

LABELS = ["labhost", "labhost 2", "labhost 3"]


async def attached_tabs(app: RecordingApp, pilot: Pilot[None]) -> list[SessionPane]:
    tabs = app.query_one(SessionTabs)
    await wait_for(pilot, lambda: len(tabs.panes) == len(LABELS), "the tabs", bound=LIVE)
    await wait_for(
        pilot,
        lambda: all(pane.status.state is Phase.ATTACHED for pane in tabs.panes),
        "every tab attached",
        bound=LIVE,
    )
    return tabs.panes


def tab_bar_labels(app: RecordingApp) -> list[str]:
    tabs = app.query_one(SessionTabs)
    labels = []
    for pane in tabs.panes:
        tab_pane = pane.parent
        assert isinstance(tab_pane, TabPane)
        # The tab text is the state marker, a space, then the label.
        labels.append(str(tabs.get_tab(tab_pane).label).split(" ", 1)[1])
    return labels


async def test_three_tabs_of_one_profile_keep_distinct_labels_across_a_restart(
    store: ProfileStore, sshd: SshServer
) -> None:
    store.save(profile_for(sshd, name="labhost", tmux_session="tk-lab"))
    first = RecordingApp(store, open_session=None)
    async with first.run_test(size=(120, 30)) as pilot:
        for _ in LABELS:
            await first.open_profile("labhost")
        panes = await attached_tabs(first, pilot)
        assert [pane.label for pane in panes] == LABELS
        assert [pane.session.tmux_session for pane in panes] == ["tk-lab", "tk-lab-2", "tk-lab-3"]
        assert tab_bar_labels(first) == LABELS
        await pilot.press(PREFIX, "b")
        picker = first.screen
        assert isinstance(picker, BroadcastPickerScreen)
        assert picker.source_label == "labhost 3"
        assert [label for _, label in picker.tabs] == ["labhost", "labhost 2"]
        await pilot.press("escape")
        first.save_tabs()

    # A new start reopens the same tmux sessions, and so the same labels, in any order of
    # opening: the label follows the session, not the count of open tabs.
    second = RecordingApp(store, open_session=None, restore=True)
    async with second.run_test(size=(120, 30)) as pilot:
        panes = await attached_tabs(second, pilot)
        assert [pane.label for pane in panes] == LABELS
        assert tab_bar_labels(second) == LABELS
        await pilot.press(PREFIX, "x", "y")  # close "labhost 3"
        await wait_for(pilot, lambda: len(second.query_one(SessionTabs).panes) == 2, "close")
        await pilot.press(PREFIX, "1")
        await pilot.press(PREFIX, "x", "y")  # close "labhost"
        await wait_for(pilot, lambda: len(second.query_one(SessionTabs).panes) == 1, "close")
        assert [pane.label for pane in second.query_one(SessionTabs).panes] == ["labhost 2"]
        # The sessions no tab holds are listed with the label their tab would have.
        await pilot.press(PREFIX, "s")
        listing = await sessions_screen(second, pilot)
        options = listing.query_one("#sessions", OptionList)
        rows = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert sorted(row.split("  ·  ")[:2] for row in rows) == [
            ["labhost", "tk-lab"],
            ["labhost 3", "tk-lab-3"],
        ]
        await pilot.press("escape")
        # A new tab takes the first free session, and its label says which.
        await second.open_profile("labhost")
        tabs = second.query_one(SessionTabs)
        await wait_for(pilot, lambda: len(tabs.panes) == 2, "the new tab", bound=LIVE)
        assert [pane.label for pane in tabs.panes] == ["labhost 2", "labhost"]

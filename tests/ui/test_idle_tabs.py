"""Background tabs cost nothing while idle: only the shown tab's status line ticks (contact
age, retry countdown); a hidden tab still follows every state change through its listener and
is brought up to date the moment it is shown again."""

from __future__ import annotations

import dataclasses

import pytest

from termkeep.config.store import ProfileStore
from termkeep.supervisor.phase import Phase
from termkeep.ui.session_api import StatusSnapshot
from termkeep.ui.widgets.status_line import StatusLine
from tests.ui.fakes import RecordingApp, ScriptedSession
from tests.ui.pilot import PREFIX, Bound, wait_for

SIZE = (100, 30)
WAIT = Bound(5.0, 0.01)


def count_reads(session: ScriptedSession, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count how often the app reads ``session``'s status (the tick is such a read)."""
    reads = [0]
    read = session.status

    def counted() -> StatusSnapshot:
        reads[0] += 1
        return read()

    monkeypatch.setattr(session, "status", counted)
    return reads


async def test_only_the_shown_tab_ticks(
    store: ProfileStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = RecordingApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await app.open_profile("web-1")
        await app.open_profile("db-main")
        await wait_for(
            pilot, lambda: {"web-1", "db-main"} <= app.sessions.keys(), "two tabs", bound=WAIT
        )
        hidden, shown = app.sessions["web-1"], app.sessions["db-main"]
        await pilot.pause()
        hidden_reads, shown_reads = (
            count_reads(hidden, monkeypatch),
            count_reads(shown, monkeypatch),
        )
        # Two ticks of the shown tab: the hidden one would have ticked meanwhile too.
        await wait_for(pilot, lambda: shown_reads[0] >= 2, "two ticks of the shown tab", bound=WAIT)
        assert hidden_reads[0] == 0

        # A state change still reaches the hidden tab's label at once.
        hidden.set(state=Phase.STALLED, cause="no reply", last_contact_age=6.0)
        assert hidden_reads[0] >= 1

        # Time passes unseen: no listener call, just an older last contact.
        hidden.snapshot = dataclasses.replace(hidden.snapshot, last_contact_age=42.0)
        await pilot.press(PREFIX, "1")  # back to the first tab: its line is current at once
        await wait_for(
            pilot,
            lambda: "last contact 42" in str(app.query_one(StatusLine).render()),
            "the hidden tab's contact age when shown",
            bound=WAIT,
        )


async def test_a_new_rtt_alone_waits_for_the_tick_but_a_state_change_shows_at_once(
    store: ProfileStore,
) -> None:
    app = RecordingApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await app.open_profile("web-1")
        await wait_for(pilot, lambda: "web-1" in app.sessions, "the tab", bound=WAIT)
        session = app.sessions["web-1"]
        line = app.query_one(StatusLine)
        session.set(rtt=0.012)  # the first measurement shows at once
        assert "rtt 12 ms" in str(line.render())

        # Every keystroke's ping brings a new RTT: no repaint for it alone...
        session.set(rtt=0.013)
        assert "rtt 12 ms" in str(line.render())
        # ...the next tick shows it.
        await wait_for(
            pilot, lambda: "rtt 13 ms" in str(line.render()), "the tick's repaint", bound=WAIT
        )

        session.set(rtt=0.020, state=Phase.STALLED, cause="no reply")
        rendered = str(line.render())
        assert "stalled: no reply" in rendered
        assert "rtt 20 ms" in rendered  # shown with the state change, not a tick later

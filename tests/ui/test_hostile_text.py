"""Hostile text from a real server never crashes, drives or spoofs the app.

The remote is the demo server (asyncssh on loopback, the local shell in a real tmux on a
private socket); titles are set by the remote's own output (``cat`` of a file holding the
OSC 2 sequence), and the network is cut with the relay's blackhole, as in ``termkeep demo``.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from textual.content import Content
from textual.pilot import Pilot
from textual.style import Style
from textual.widgets import Label
from textual.widgets._toast import Toast

from termkeep.config.store import ProfileStore
from termkeep.supervisor.phase import Phase
from termkeep.terminal.display_text import safe_text
from termkeep.terminal.emulator import TITLE_MAX_LENGTH, sanitize_title
from termkeep.transport.demo_server import DemoServer
from termkeep.transport.relay import FaultRelay
from termkeep.ui.live_session import LiveSession
from termkeep.ui.screens.dialogs import ConfirmScreen
from termkeep.ui.widgets.session_pane import SessionPane
from termkeep.ui.widgets.session_tabs import SessionTabs
from tests.ui.fakes import RecordingApp
from tests.ui.pilot import LIVE, PREFIX, wait_for
from tests.ui.test_app_live import save_relayed_profile

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")

HOSTILE = (
    "[/nope]",
    "[@click=app.quit]ok[/]",
    '[link="file:///etc/passwd"]x[/link]',
    "[b]bold",
    r"\[escaped\] [[doubled]]",
    "\u202etab 2 \u2066isolate\u2069",
    "zero\u200bwidth\ufeff",
)
"""What a remote can put in a title through tmux. Controls never get there: ESC and BEL end
the OSC sequence itself, and tmux refuses a title holding other controls (the emulator's own
handling of them is in tests/unit/terminal; notifications get them below)."""

LONG_TITLE = "[/x]" * 500
"""2 KB of closing tags (tmux drops a title of 100 KB; notifications get that below)."""

CORPUS = (
    *HOSTILE,
    "\x1b[31mred\x1b[0m \x07bell \x9b31m c1 \x85 next line",
    "nul\x00byte",
    "lone \ud800 surrogate",
    "[/x]" * 25_000,
)
"""Everything, for the surfaces that take any string: 100 KB of closing tags included."""


def title_file(directory: Path, index: int, title: str) -> Path:
    """A file whose ``cat`` sets the window title, as any file on a server could."""
    path = directory / f"title-{index}"
    path.write_bytes(b"\x1b]2;" + title.encode("utf-8", "surrogateescape") + b"\x07")
    return path


def actionable_spans(content: Content) -> list[object]:
    """Styles in ``content`` that would make a link or run an action on a click."""
    found: list[object] = []
    for span in content.spans:
        style = span.style
        if isinstance(style, str):
            if "@" in style or "link" in style:
                found.append(style)
        elif isinstance(style, Style) and (style.link or style.meta):
            found.append(style)
    return found


def label_text(app: RecordingApp) -> str:
    return str(app.query_one(SessionTabs).get_tab("tab-1").label)


def toasts_are_plain(app: RecordingApp) -> None:
    for toast in app.screen.query(Toast):
        assert actionable_spans(toast.render()) == []


async def test_hostile_titles_through_a_drop_the_close_dialog_and_notices(
    store: ProfileStore, tmp_path: Path
) -> None:
    async with DemoServer() as server:
        relay = FaultRelay(server.host, server.port)
        await relay.start()
        try:
            save_relayed_profile(store, server, relay, "hostile", "termkeep-hostile")
            app = RecordingApp(store, open_session=None)
            quits: list[str] = []

            async def record_quit() -> None:
                quits.append("quit")

            app.action_quit = record_quit  # type: ignore[method-assign]
            async with app.run_test(size=(100, 30), notifications=True) as pilot:
                pane = await app.open_profile("hostile")
                assert pane is not None
                assert isinstance(pane.session, LiveSession)
                await wait_for(
                    pilot, lambda: pane.status.state is Phase.ATTACHED, "attach", bound=LIVE
                )
                # tmux passes a pane's title on to its client (termkeep) only when asked to.
                await pilot.press(*"tmux set -g set-titles on", "enter")
                await pilot.press(*"tmux set -g set-titles-string '#T'", "enter")
                for index, hostile in enumerate((*HOSTILE, LONG_TITLE)):
                    title = f"{hostile} T{index}"
                    await show_title(pilot, app, pane, title_file(tmp_path, index, title), title)
                    await ask_to_close_and_cancel(pilot, app, pane)

                # The title that killed the app once: shown in the drop and reattach notices.
                await show_title(pilot, app, pane, title_file(tmp_path, 99, "[/nope]"), "[/nope]")
                relay.blackhole()
                await wait_for(
                    pilot,
                    lambda: any(m.startswith("[/nope]: connection lost") for m in app.messages),
                    "the drop notice",
                    bound=LIVE,
                )
                toasts_are_plain(app)
                before_restore = len(app.messages)
                relay.restore()
                await wait_for(
                    pilot, lambda: pane.status.state is Phase.ATTACHED, "reattach", bound=LIVE
                )
                await wait_for(
                    pilot,
                    lambda: any(
                        re.match(r"\[/nope\]: .* after \d+(\.\d)? s", m)
                        for m in app.messages[before_restore:]
                    ),
                    "the reattach notice",
                    bound=LIVE,
                )
                toasts_are_plain(app)
                assert app.is_running
                assert quits == []
                await pane.session.close()
        finally:
            await relay.close()


async def show_title(
    pilot: Pilot[None], app: RecordingApp, pane: SessionPane, path: Path, title: str
) -> None:
    """``cat`` the file on the remote and wait for the tab label to show the new title
    (tmux may drop bytes of it on the way, so the check is that it is shown as it came,
    sanitised, not that every byte arrived)."""
    before = pane.status.title
    await pilot.press(*f"cat {path}; clear", "enter")
    await wait_for(
        pilot, lambda: pane.status.title not in {"", before}, f"title {title[:20]!r}", bound=LIVE
    )
    shown = pane.status.title
    assert shown == sanitize_title(shown)  # nothing left to neutralise
    if len(title) < TITLE_MAX_LENGTH:
        assert shown.endswith(title.rsplit(maxsplit=1)[-1])  # this title's own last word (T<n>)
    else:
        assert shown.startswith("[/x][/x]")
    await wait_for(pilot, lambda: label_text(app).endswith(shown), "the label", bound=LIVE)


async def ask_to_close_and_cancel(pilot: Pilot[None], app: RecordingApp, pane: SessionPane) -> None:
    """The close-tab question names the tab by its title, literally."""
    await pilot.press(PREFIX, "x")
    await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the close question")
    question = app.screen.query_one(Label).render()
    assert isinstance(question, Content)
    assert question.plain == safe_text(f"Close {pane.label}? The tmux session stays on the server.")
    assert actionable_spans(question) == []
    await pilot.press("escape")
    await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen), "the cancel")

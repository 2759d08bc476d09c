"""Predictive echo end to end: a Session against the real sshd and tmux in a network
namespace, 200 ms of round trip added by the kernel path (NFQUEUE), real bash, vim and cat,
and keys held during a real outage.

``Typist`` does what TerminalView does with the predictor: guess each key on the emulator's
current screen before sending it, check the guesses on every output, and draw the screen
with the overlay on top. The assertions are about that drawn screen: guesses show before the
echo, nothing shows at a no-echo prompt, and once the remote settles the drawn screen is
exactly the emulator's, cell for cell.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from termkeep.config.profile import KeepaliveSettings, ReconnectSettings
from termkeep.session.tab_session import Session
from termkeep.supervisor.updates import Notice, Update
from termkeep.terminal.emulator import row_text
from termkeep.terminal.predict import MIN_TIMEOUT, PredictMode
from termkeep.terminal.predict_overlay import Overlay, overlaid_row
from termkeep.transport.prompts import NoPrompter
from tests.fixtures.netns import NetnsSshServer
from tests.fixtures.profiles import profile_for
from tests.fixtures.requirements import require
from tests.fixtures.waiting import wait_until_async

ONE_WAY_MS = 100.0
"""Half the round trip the tests add: RTT grows by 200 ms."""
TMUX_SESSION = "tk-predict"
WAIT = 30.0
KEY_GAP = 0.03
"""Seconds between typed keys: a brisk typist, several keys per round trip."""
PROMPT = "tk$ "


class Typist:
    """Types into a Session the way TerminalView does and reads the screen the user sees."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.predictor = session.predictor
        self.notices: list[str] = []
        self.drawn_at_notice: list[bool] = []
        """For each notice, whether any guess was still drawn when it was published."""
        self._changed = asyncio.Event()
        session.on_output(self._output)
        session.on_update(self._update)

    def _output(self) -> None:
        self.predictor.observe(self.session.emulator.snapshot(), time.monotonic())
        self._changed.set()

    def _update(self, update: Update) -> None:
        if isinstance(update, Notice):
            self.notices.append(update.text)
            self.drawn_at_notice.append(bool(self.predictor.overlay()))
        self._changed.set()

    def key(self, data: bytes) -> None:
        self.predictor.typed(data, self.session.emulator.snapshot(), time.monotonic())
        self.session.write(data)

    async def type(self, text: str, gap: float = KEY_GAP) -> None:
        for character in text:
            self.key(character.encode())
            await asyncio.sleep(gap)

    def overlay(self) -> Overlay:
        self.predictor.observe(self.session.emulator.snapshot(), time.monotonic())
        return self.predictor.overlay()

    def drawn(self) -> list[str]:
        """The screen as the user sees it: the emulator's rows with the guesses drawn in."""
        overlay = self.overlay()
        rows = self.session.emulator.snapshot().rows
        return [row_text(overlaid_row(row, overlay.rows.get(y, {}))) for y, row in enumerate(rows)]

    def drawn_cells(self) -> list[tuple[tuple[str, ...], bytes]]:
        overlay = self.overlay()
        rows = self.session.emulator.snapshot().rows
        drawn = [overlaid_row(row, overlay.rows.get(y, {})) for y, row in enumerate(rows)]
        return [(row.graphemes, row.widths) for row in drawn]

    def cursor_line(self) -> str:
        """The remote's text on the cursor's row."""
        snapshot = self.session.emulator.snapshot()
        cursor = snapshot.cursor
        return "" if cursor is None else row_text(snapshot.rows[cursor.y])

    def screen(self) -> list[str]:
        return self.session.emulator.text().splitlines()

    def screen_cells(self) -> list[tuple[tuple[str, ...], bytes]]:
        return [(row.graphemes, row.widths) for row in self.session.emulator.snapshot().rows]

    async def until(self, condition: Callable[[], object], what: str, limit: float = WAIT) -> None:
        """Wait for ``condition``, re-checking on every update or output, within a bound; a
        failure shows the screen at the deadline."""
        await wait_until_async(
            condition,
            timeout=limit,
            what=lambda: f"{what}; screen:\n" + "\n".join(self.screen()),
            interval=0.05,
            pause=self._next_change,
        )

    async def _next_change(self, longest: float) -> None:
        self._changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout=longest)

    async def settled(self) -> None:
        """Wait until no guess is outstanding: the echo came, or the timeout passed."""
        await self.until(lambda: not self.overlay() and not self.predictor.pending, "settling")

    async def run(self, command: str, expected: str) -> None:
        """Type a command with Enter and wait for ``expected`` on the emulator's screen."""
        await self.type(command + "\r")
        await self.until(lambda: expected in self.session.emulator.text(), repr(expected))

    def prompt_row(self) -> int:
        """The row of the remote's cursor."""
        cursor = self.session.emulator.snapshot().cursor
        assert cursor is not None
        return cursor.y

    def line_with(self, text: str, drawn: list[str]) -> str:
        found = [line for line in drawn if text in line]
        return found[-1] if found else ""


@contextlib.asynccontextmanager
async def typist_on(server: NetnsSshServer) -> AsyncIterator[Typist]:
    profile = profile_for(
        server,
        name="predict-test",
        tmux_session=TMUX_SESSION,
        keepalive=KeepaliveSettings(interval=1.0, count_max=10),
        reconnect=ReconnectSettings(connect_timeout=3.0, max_delay=2.0),
    )
    session = Session(profile, NoPrompter(), size=(100, 30), predict=PredictMode.ADAPTIVE)
    typist = Typist(session)
    await session.start()
    try:
        await typist.until(lambda: session.status().state == "attached", "the first attach")
        yield typist
    finally:
        await session.close()


@pytest.fixture
async def typist(netns_sshd: NetnsSshServer) -> AsyncIterator[Typist]:
    """A session at a bash prompt ``tk$ `` over a 200 ms round trip."""
    netns_sshd.delay(ONE_WAY_MS)
    async with typist_on(netns_sshd) as typist:
        # tmux's status line has a clock: its change is output nobody typed, after which
        # the next key waits for its echo. Off, so that what a test counts cannot depend
        # on whether a minute turned while it typed.
        await typist.run("tmux set-option status off; echo no-status-$((1+2))", "no-status-3")
        await typist.run(f"exec bash --norc --noprofile; PS1='{PROMPT}'", PROMPT)
        await typist.run(f"PS1='{PROMPT}'; echo ready-$((20+1))", "ready-21")
        await typist.until(lambda: typist.cursor_line() == PROMPT.rstrip(), "the prompt")
        await typist.settled()
        yield typist


async def _type_and_watch_guesses(typist: Typist, text: str, line: str = "") -> int:
    """Type ``text`` on the cursor's row, which shows ``line`` so far; count the keys whose
    guess (the row's text and the cursor after it) was drawn before the remote echoed it.
    Each is checked right after the key, before the event loop can read any output."""
    row = typist.prompt_row()
    ahead = 0
    for character in text:
        typist.key(character.encode())
        line += character
        shown = typist.drawn()[row] == line.rstrip() and typist.overlay().cursor == (len(line), row)
        if shown and typist.screen()[row] != line.rstrip():
            ahead += 1
        await asyncio.sleep(KEY_GAP)
    return ahead


async def test_at_a_bash_prompt_typing_shows_before_the_echo_and_settles_exactly(
    typist: Typist,
) -> None:
    # The first key opens the line's epoch: its guess waits for its echo (it could be a
    # password prompt). From then on every key shows before the remote has seen it.
    typist.key(b"e")
    await typist.until(lambda: typist.cursor_line() == PROMPT + "e", "the first echo")
    rest = "cho predicted-words"
    assert await _type_and_watch_guesses(typist, rest, PROMPT + "e") == len(rest)
    await typist.until(
        lambda: "echo predicted-words" in typist.session.emulator.text(), "the full echo"
    )
    await typist.settled()
    # Backspace and left/right inside the line, then more typing: each shows at once too.
    edits = [
        (b"\x7f", "echo predicted-word"),
        (b"\x7f", "echo predicted-wor"),
        (b"\x1b[D", "echo predicted-wor"),
        (b"\x1b[D", "echo predicted-wor"),
        (b"X", "echo predicted-wXor"),
        (b"\x1b[C", "echo predicted-wXor"),
    ]
    for key, line in edits:
        typist.key(key)
        assert typist.line_with(PROMPT, typist.drawn()) == PROMPT + line
        await asyncio.sleep(KEY_GAP)
    assert typist.overlay().cursor == (len(PROMPT + "echo predicted-wX") + 1, typist.prompt_row())
    await typist.settled()
    assert typist.drawn_cells() == typist.screen_cells()
    assert "echo predicted-wXor" in typist.session.emulator.text()
    await typist.run("", "predicted-wXor")


async def test_read_s_never_shows_the_secret(typist: Typist) -> None:
    await typist.run("read -s SECRET; echo got-${#SECRET}-chars", "read -s SECRET")
    await typist.until(lambda: typist.cursor_line() == "", "read to wait on the next line")
    for character in "hunter2":
        typist.key(character.encode())
        assert typist.drawn_cells() == typist.screen_cells()  # not one guessed cell
        await asyncio.sleep(KEY_GAP)
    deadline = time.monotonic() + 2 * MIN_TIMEOUT
    while time.monotonic() < deadline:  # past the glitch threshold and the timeout
        assert typist.drawn_cells() == typist.screen_cells()
        await asyncio.sleep(0.05)
    typist.key(b"\r")
    await typist.until(lambda: "got-7-chars" in typist.session.emulator.text(), "read's output")
    assert not any("hunter" in line for line in typist.drawn())
    await typist.settled()
    assert typist.drawn_cells() == typist.screen_cells()


READ_N1_THEN_READ_S = (
    "read -n1 -p 'Contin''ue? ' ANSWER; echo; read -s -p 'Pass''word: ' SECRET; echo;"
    " echo got-${#SECRET}-chars"
)
"""The quotes keep the prompts' text out of the echoed command line."""


async def _no_guess_drawn_until_every_guess_timed_out(typist: Typist) -> None:
    deadline = time.monotonic() + 2 * MIN_TIMEOUT
    while time.monotonic() < deadline:  # past the glitch threshold and the timeout
        assert typist.drawn_cells() == typist.screen_cells()
        await asyncio.sleep(0.05)


async def test_read_s_after_read_n1_answered_without_enter_never_shows_the_secret(
    typist: Typist,
) -> None:
    """Issue 19: "y" answers read -n1 (no Enter) and is echoed, then read -s prompts on the
    next line. The prompt is output nobody typed: what is typed at it waits for an echo that
    never comes, so not one character of the secret is drawn."""
    await typist.type(READ_N1_THEN_READ_S + "\r")
    await typist.until(lambda: typist.cursor_line() == "Continue?", "read -n1's prompt")
    typist.key(b"y")
    await typist.until(lambda: typist.cursor_line() == "Password:", "read -s's prompt")
    assert any(line == "Continue? y" for line in typist.screen())
    for character in "hunter2":
        typist.key(character.encode())
        assert typist.drawn_cells() == typist.screen_cells()  # not one guessed cell
        assert typist.overlay().cursor is None  # nor the cursor moving for it
        await asyncio.sleep(KEY_GAP)
    await _no_guess_drawn_until_every_guess_timed_out(typist)
    typist.key(b"\r")
    await typist.until(lambda: "got-7-chars" in typist.session.emulator.text(), "read's output")
    assert not any("hunter" in line for line in typist.drawn())
    await typist.settled()
    assert typist.drawn_cells() == typist.screen_cells()


async def test_a_secret_typed_ahead_of_the_read_s_prompt_goes_when_the_prompt_shows(
    typist: Typist,
) -> None:
    """The same, typed without waiting: "y" and the secret go out within one round trip. The
    keys typed before the prompt arrived were guessed on the "Continue?" line; the prompt
    takes them away, and nothing typed after it is drawn."""
    await typist.type(READ_N1_THEN_READ_S + "\r")
    await typist.until(lambda: typist.cursor_line() == "Continue?", "read -n1's prompt")
    prompt_seen = False
    for character in "yhunter2":
        typist.key(character.encode())
        prompt_seen = prompt_seen or typist.cursor_line() == "Password:"
        if prompt_seen:
            assert typist.drawn_cells() == typist.screen_cells()
        await asyncio.sleep(KEY_GAP)
    await typist.until(lambda: typist.cursor_line() == "Password:", "read -s's prompt")
    await _no_guess_drawn_until_every_guess_timed_out(typist)
    typist.key(b"\r")
    await typist.until(lambda: "got-" in typist.session.emulator.text(), "read's output")
    assert not any("hunter" in line for line in typist.drawn())


async def test_cat_under_stty_minus_echo_shows_nothing_typed(typist: Typist) -> None:
    await typist.run("stty -echo; cat; stty echo", "stty -echo; cat; stty echo")
    await typist.until(lambda: typist.cursor_line() == "", "cat to wait on the next line")
    for character in "invisible":
        typist.key(character.encode())
        assert typist.drawn_cells() == typist.screen_cells()
        await asyncio.sleep(KEY_GAP)
    deadline = time.monotonic() + 2 * MIN_TIMEOUT
    while time.monotonic() < deadline:
        assert typist.drawn_cells() == typist.screen_cells()
        await asyncio.sleep(0.05)
    typist.key(b"\r")  # cat prints the line: now it is the remote's output, once
    await typist.until(lambda: any(line == "invisible" for line in typist.screen()), "cat's output")
    typist.key(b"\x04")
    await typist.settled()
    assert typist.drawn_cells() == typist.screen_cells()
    assert sum(line.count("invisible") for line in typist.screen()) == 1


async def test_vim_insert_mode_inside_tmux(typist: Typist) -> None:
    vim = shutil.which("vim") or shutil.which("vi")
    require(None if vim else "needs vim or vi on PATH (Debian package vim-tiny)")
    await typist.type(f"{Path(vim or 'vi').name} -u NONE -N -n\r")
    # tmux keeps its client on the alternate screen all along: vim shows as its empty buffer.
    await typist.until(lambda: typist.screen()[1:2] == ["~"], "vim's empty buffer")
    typist.key(b"i")
    await typist.until(lambda: "-- INSERT --" in typist.session.emulator.text(), "insert mode")
    # "i" was guessed as a character: the echo of "h" lands in its cell, which takes that
    # guess back and opens a new epoch. "e" is its first key, drawn once echoed; from then
    # on every key shows at once.
    typist.key(b"h")
    await typist.until(lambda: typist.screen()[0] == "h", "the first echo")
    typist.key(b"e")
    await typist.until(lambda: typist.screen()[0] == "he", "the echo that confirms")
    rest = "llo from vim"
    assert await _type_and_watch_guesses(typist, rest, "he") == len(rest)
    await typist.until(lambda: typist.screen()[0] == "hello from vim", "vim's echo")
    await typist.settled()
    assert typist.drawn_cells() == typist.screen_cells()
    typist.key(b"\x1b")
    await typist.type(":q!\r")
    await typist.until(lambda: typist.screen()[1:2] != ["~"], "vim to quit")
    await typist.run("echo back-$((1+1))", "back-2")


async def test_keys_held_in_an_outage_show_and_are_confirmed_after_reattach(
    netns_sshd: NetnsSshServer, typist: Typist
) -> None:
    await typist.type("echo before")
    await typist.until(lambda: "echo before" in typist.session.emulator.text(), "the echo")
    await typist.settled()
    with netns_sshd.blackhole():
        await typist.until(
            lambda: typist.session.status().state != "attached", "the stall", limit=WAIT
        )
        await typist.type("-held")
        line = typist.line_with("echo before", typist.drawn())
        assert line.endswith("echo before-held")
        assert "-held" not in typist.session.emulator.text()
        cells = [cell for row in typist.overlay().rows.values() for cell in row.values()]
        assert cells
        assert all(cell.underline for cell in cells)
    await typist.until(
        lambda: "echo before-held" in typist.session.emulator.text(), "held keys delivered", 60.0
    )
    await typist.settled()
    assert typist.drawn_cells() == typist.screen_cells()
    await typist.run("", "before-held")


async def test_keys_held_in_an_outage_disappear_with_the_notice_when_discarded(
    netns_sshd: NetnsSshServer, typist: Typist
) -> None:
    await typist.type("echo gone")
    await typist.until(lambda: "echo gone" in typist.session.emulator.text(), "the echo")
    await typist.settled()
    with netns_sshd.blackhole():
        await typist.until(
            lambda: typist.session.status().state != "attached", "the stall", limit=WAIT
        )
        await typist.type("-lost")
        assert typist.line_with("echo gone", typist.drawn()).endswith("echo gone-lost")
        # The tmux session is really lost, and the stalled connection with it: the next
        # attach makes a fresh session, where the held keys do not belong.
        netns_sshd.kill_tmux()
        netns_sshd.kill_connections()
    await typist.until(
        lambda: any("discarded" in notice for notice in typist.notices), "the notice", 60.0
    )
    notice = next(index for index, text in enumerate(typist.notices) if "discarded" in text)
    assert typist.drawn_at_notice[notice] is False
    assert not typist.overlay()
    assert not any("-lost" in line for line in typist.drawn())
    assert typist.drawn_cells() == typist.screen_cells()


async def test_a_secret_typed_during_an_outage_is_never_drawn(
    netns_sshd: NetnsSshServer, typist: Typist
) -> None:
    """Held keys are drawn only on a line the remote already echoed: after the Enter that
    started ``read -s``, the outage gives no licence to show what is typed."""
    await typist.run("read -s SECRET; echo got-${#SECRET}-chars", "read -s SECRET")
    await typist.until(lambda: typist.cursor_line() == "", "read to wait on the next line")
    with netns_sshd.blackhole():
        await typist.until(
            lambda: typist.session.status().state != "attached", "the stall", limit=WAIT
        )
        for character in "hunter2":
            typist.key(character.encode())
            assert typist.drawn_cells() == typist.screen_cells()
            await asyncio.sleep(KEY_GAP)
        typist.key(b"\r")
        assert typist.session.status().held > 0
        assert typist.drawn_cells() == typist.screen_cells()
    await typist.until(
        lambda: "got-7-chars" in typist.session.emulator.text(), "held keys delivered", 60.0
    )
    await typist.settled()
    assert typist.drawn_cells() == typist.screen_cells()
    assert not any("hunter" in line for line in typist.drawn())

"""The remote history, read over the tab's own connection from a real sshd and real tmux:
every line, its colours, odd content, and what was printed while the network was down."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from termkeep.config.profile import TmuxSettings
from termkeep.session.away import AwayMark
from termkeep.session.tab_session import Session
from termkeep.terminal.history_lines import HistoryLine
from termkeep.tmux import scrollback
from termkeep.tmux.scrollback import ScrollbackError, ScrollbackPage, SearchAnswer
from termkeep.transport.prompts import NoPrompter
from termkeep.transport.ssh.link import SshLink
from termkeep.ui.scrollback_source import TmuxScrollback, scrollback_source
from tests.fixtures.netns import NetnsSshServer
from tests.fixtures.sshd import SshServer
from tests.integration.test_reconnect import (
    ATTACH_WAIT,
    RECOVERY_WAIT,
    TMUX_SESSION,
    Watch,
    opened,
    reconnect_profile,
)

HISTORY_LIMIT = 20000


def allow_long_history(server: SshServer) -> None:
    """tmux keeps 2,000 lines by default; a holder session lets the option be set before the
    test's own pane (which takes the limit when it is made) exists."""
    server.tmux("new-session", "-d", "-s", "holder", check=True)
    server.tmux("set-option", "-g", "history-limit", str(HISTORY_LIMIT), check=True)


@pytest.fixture
async def watched(sshd: SshServer) -> AsyncIterator[Watch]:
    allow_long_history(sshd)
    async with opened(reconnect_profile(sshd)) as watch:
        await watch.until(lambda: watch.state == "attached", ATTACH_WAIT, "the attach")
        yield watch


MOST_PAGES = 50
"""More pages than any test's history needs: a source that never reaches its end fails."""


async def everything(source: TmuxScrollback) -> list[HistoryLine]:
    lines = await source.first()
    return await with_older(source, lines)


async def with_older(source: TmuxScrollback, lines: list[HistoryLine]) -> list[HistoryLine]:
    """``lines`` with every page above them."""
    for _ in range(MOST_PAGES):
        if not source.more_above:
            return lines
        lines[:0] = await source.older(lines)
    raise AssertionError(f"more pages above after {MOST_PAGES}")


async def with_newer(source: TmuxScrollback, lines: list[HistoryLine]) -> list[HistoryLine]:
    """``lines`` with every page below them, up to the screen."""
    for _ in range(MOST_PAGES):
        if not source.more_below:
            return lines
        lines += await source.newer(lines)
    raise AssertionError(f"more pages below after {MOST_PAGES}")


async def test_5000_numbered_lines_come_back_in_pages_with_their_colours(watched: Watch) -> None:
    # "echo;" first, here and below: a command typed before the shell printed its prompt (a
    # loaded machine) gets its output after that prompt, on the prompt's row ("# n1").
    await watched.run(
        "echo; seq -f 'n%g' 1 5000; printf '\\033[1;31mred\\033[0m plain\\n'", "red plain"
    )
    source = scrollback_source(watched.session)
    assert isinstance(source, TmuxScrollback)
    first = await source.first()
    assert len(first) < 1000  # the first page is the screen and a few hundred lines
    assert source.more_above
    lines = await everything(source)
    texts = [line.text for line in lines]
    numbered = [text for text in texts if text.startswith("n")]
    assert numbered == [f"n{n}" for n in range(1, 5001)]
    red = next(line for line in lines if line.text == "red plain")
    styles = source.styles
    assert styles[red.runs[0][1]].foreground == 1
    assert styles[red.runs[0][1]].bold
    assert styles[red.runs[1][1]].foreground is None


async def test_very_long_lines_and_binary_junk(watched: Watch) -> None:
    await watched.run(
        # Without ESC, SO and SI: random escapes could switch the pane's character set or
        # modes and hide the marker from the test's own screen, not from the history.
        "head -c 30000 /dev/urandom | tr -d '\\033\\016\\017'; printf '%040000d\\n' 7; "
        "echo done-$((2+3))",
        "done-5",
    )
    source = scrollback_source(watched.session)
    assert isinstance(source, TmuxScrollback)
    lines = await everything(source)
    assert any(line.text == "done-5" for line in lines)
    text = "".join(line.text for line in lines)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in text)


async def test_a_session_name_that_needs_quoting(sshd: SshServer) -> None:
    # Sanitised to letters, digits, _ and -, then shlex-quoted: it reaches tmux intact.
    profile = reconnect_profile(sshd, tmux=TmuxSettings(session="it's $x; a b"))
    async with opened(profile) as watch:
        await watch.until(lambda: watch.state == "attached", ATTACH_WAIT, "the attach")
        await watch.run("echo quoted-$((6*7))", "quoted-42")
        lines = await scrollback_source(watch.session).first()
        assert any(line.text.endswith("quoted-42") for line in lines)


async def test_no_link_is_a_clear_error(sshd: SshServer) -> None:
    session = Session(reconnect_profile(sshd), prompter=NoPrompter())
    with pytest.raises(ScrollbackError, match="not attached"):
        await session.read_scrollback(-10, 10)


async def test_lines_printed_during_a_silent_drop_appear_after_recovery(
    netns_sshd: NetnsSshServer,
) -> None:
    allow_long_history(netns_sshd)
    async with opened(reconnect_profile(netns_sshd)) as watch:
        await watch.until(lambda: watch.state == "attached", ATTACH_WAIT, "the attach")
        await watch.run("echo before-$((1+1))", "before-2")
        with netns_sshd.blackhole():
            await watch.until(lambda: watch.state != "attached", 10.0, "the stall reported")
            # The program in the pane keeps printing while termkeep cannot see it.
            netns_sshd.tmux(
                "send-keys", "-t", f"={TMUX_SESSION}:", "seq -f away%g 1 300", "Enter", check=True
            )
            await asyncio.sleep(1.0)  # let the remote shell print into the pane
        await watch.until(lambda: watch.state == "attached", RECOVERY_WAIT, "reattached")
        source = scrollback_source(watch.session)
        assert isinstance(source, TmuxScrollback)
        texts = [line.text for line in await everything(source)]
        assert [t for t in texts if t.startswith("away")] == [f"away{n}" for n in range(1, 301)]


async def test_the_one_command_fallback_reads_the_same_page(watched: Watch) -> None:
    await watched.run("echo fallback-$((3*3))", "fallback-9")
    link = watched.session.supervisor.current_link
    assert isinstance(link, SshLink)
    via_command = await scrollback.read_page(link, TMUX_SESSION, -50, 999)
    via_helper = await watched.session.read_scrollback(-50, 999)
    assert b"fallback-9" in via_command.data
    assert via_command.data == via_helper.data
    assert via_command.extent == via_helper.extent
    with pytest.raises(ScrollbackError, match="can't find"):
        await scrollback.read_page(link, "no-such-session", -5, 5)


async def test_a_helper_shell_that_ends_falls_back_to_one_command_per_page(
    sshd: SshServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Some servers end a command as soon as it starts (no stdin for commands, a forced
    # command); the helper then dies at its first request, and the page must still come.
    monkeypatch.setattr(scrollback, "helper_command", lambda *_, **__: "exec true")
    allow_long_history(sshd)
    async with opened(reconnect_profile(sshd)) as watch:
        await watch.until(lambda: watch.state == "attached", ATTACH_WAIT, "the attach")
        await watch.run("echo helperless-$((4*4))", "helperless-16")
        page = await watch.session.read_scrollback(-50, 999)
        again = await watch.session.read_scrollback(-50, 999)
    assert b"helperless-16" in page.data
    assert b"helperless-16" in again.data


@pytest.fixture
async def default_limit(sshd: SshServer) -> AsyncIterator[Watch]:
    """A tab on a tmux server with tmux's own default limit (2,000 lines): the session
    termkeep creates keeps scrollback_lines (10,000) all the same."""
    async with opened(reconnect_profile(sshd)) as watch:
        await watch.until(lambda: watch.state == "attached", ATTACH_WAIT, "the attach")
        yield watch


async def test_5000_lines_are_kept_and_a_search_jumps_to_line_42(default_limit: Watch) -> None:
    watched = default_limit
    await watched.run("echo; seq -f 'line %g' 1 5000", "line 5000")
    source = TmuxScrollback(watched.session, wanted_lines=10_000)
    lines = await source.first()
    assert source.limit_note is None  # the session keeps what the settings ask
    # Forward from the first line held (about line 4700), wrapping round to the top.
    jump = await source.search(lines, "line 42", 0, forward=True, page=20)
    assert jump is not None
    assert jump.lines is not None  # far above the first page: the rows around it came
    assert jump.lines[jump.index].text == "line 42"
    # Scrolling down from there reads each row once, up to the screen.
    lines = await with_newer(source, jump.lines)
    numbered = [line.text for line in lines if line.text.startswith("line ")]
    assert numbered == [f"line {n}" for n in range(int(numbered[0][5:]), 5001)]
    assert numbered[0] == "line 22"  # the page had 20 lines above the match


class CountedRequests:
    """The session's history requests, counted as they go to the server (each a real one)."""

    def __init__(self, session: Session) -> None:
        self.pages = self.searches = 0
        read, search = session.read_scrollback, session.search_scrollback

        async def read_page(first: int, last: int) -> ScrollbackPage:
            self.pages += 1
            return await read(first, last)

        async def search_rows(
            pattern: str, cursor: int, *, forward: bool, context: int
        ) -> SearchAnswer:
            self.searches += 1
            return await search(pattern, cursor, forward=forward, context=context)

        session.read_scrollback = read_page  # type: ignore[method-assign]
        session.search_scrollback = search_rows  # type: ignore[method-assign]


async def test_a_search_asks_the_server_once_and_the_client_decides(default_limit: Watch) -> None:
    # Issue 21 item 6: the server filters coarsely (ASCII case folded, the longest ASCII
    # run of the query); the client checks each candidate with its own rules (smartcase,
    # Unicode), so the nearest candidates here are passed over and the match 5,000 rows
    # back is found with one search request (and at most one page around it).
    watched = default_limit
    # The shell first: keys typed before its prompt would put the prompt before the output.
    await watched.run("echo ready-$((1+1))", "ready-2")
    # Even so, under load the next line can be typed before the prompt is printed: the prompt
    # then comes first and the output follows it on its row. An empty line first keeps
    # every row that is searched for a row of its own.
    await watched.run(
        "echo; printf 'Stra\\303\\237e-%d\\n' 1; echo Needle-$((1+1)); seq -f 'row %g' 1 5000; "
        "echo strasse-$((2+2)) needle-$((2+1))",
        "needle-3",
    )
    requests = CountedRequests(watched.session)
    source = TmuxScrollback(watched.session, wanted_lines=10_000)
    lines = await source.first()
    for query, expected in (("Needle", "Needle-2"), ("straße", "Straße-1")):
        requests.pages = requests.searches = 0
        jump = await source.search(lines, query, len(lines) - 1, forward=False, page=20)
        assert jump is not None
        assert jump.lines is not None  # far above what the view held
        assert jump.lines[jump.index].text == expected
        assert requests.searches == 1
        assert requests.pages <= 1  # without the server's search: every page, 3 or more
        assert len(jump.lines) < 100  # the rows around the match, not the 5,000 below it
        assert source.more_below


async def test_a_session_made_before_says_how_much_the_server_keeps(watched: Watch) -> None:
    source = TmuxScrollback(watched.session, wanted_lines=50_000)
    await source.first()
    assert source.limit_note == (
        f"the server keeps {HISTORY_LIMIT:,} lines; new termkeep sessions keep 50,000"
    )


async def test_pages_stay_right_while_the_history_grows(watched: Watch) -> None:
    await watched.run("echo; seq -f 'a%g' 1 3000", "a3000")
    source = TmuxScrollback(watched.session)
    lines = await source.first()
    # Output arrives while the view is open: the rows it pushed up shift every number.
    await watched.run("echo; seq -f 'b%g' 1 700", "b700")
    lines = await with_older(source, lines)
    texts = [line.text for line in lines]
    assert [t for t in texts if t.startswith("a")] == [f"a{n}" for n in range(1, 3001)]
    # Following the pane brings the new rows in once, after the ones held.
    change = await source.follow(lines)
    assert change is not None
    assert not change.reload
    lines[change.keep :] = change.lines
    texts = [line.text for line in lines]
    assert [t for t in texts if t.startswith("a")] == [f"a{n}" for n in range(1, 3001)]
    assert [t for t in texts if t.startswith("b")] == [f"b{n}" for n in range(1, 701)]
    assert change.new_rows >= 700


async def test_pages_stay_right_while_a_full_history_drops_its_oldest_rows(
    sshd: SshServer,
) -> None:
    # A session made before with 1,000 lines of history: full, tmux drops its oldest tenth
    # whenever it overflows, so rows above the view move by an amount no extent tells;
    # the pages above are found again by their text (issue 21 item 7).
    sshd.tmux("new-session", "-d", "-s", "holder", check=True)
    sshd.tmux("set-option", "-g", "history-limit", "1000", check=True)
    sshd.tmux("new-session", "-d", "-s", TMUX_SESSION, check=True)
    async with opened(reconnect_profile(sshd)) as watch:
        await watch.until(lambda: watch.state == "attached", ATTACH_WAIT, "the attach")
        await watch.run("echo; seq -f 'a%g' 1 3000", "a3000")
        source = TmuxScrollback(watch.session)
        lines = await source.first()
        await watch.run("echo; seq -f 'b%g' 1 400", "b400")
        lines = await with_older(source, lines)
        numbered = [line.text for line in lines if line.text.startswith("a")]
        first = int(numbered[0][1:])
        assert first > 1  # the oldest rows were dropped
        assert numbered == [f"a{n}" for n in range(first, 3001)]  # none twice, none skipped
        # Every row tmux still holds was reached, not only those below the first drop.
        pane = sshd.tmux("capture-pane", "-p", "-S", "-", "-t", f"={TMUX_SESSION}:", check=True)
        assert numbered == [row for row in pane.stdout.splitlines() if row.startswith("a")]
        change = await source.follow(lines)
        assert change is not None
        lines[change.keep :] = change.lines
        texts = [line.text for line in lines]
        assert [t for t in texts if t.startswith("b")] == [f"b{n}" for n in range(1, 401)]
        assert [t for t in texts if t.startswith("a")] == numbered


def away_mark_at(server: SshServer, text: str, lines: int) -> AwayMark:
    """The mark the away notice would keep with ``text`` as the first unseen row, read from
    the pane as the notice reads it (its history size then, ``text``'s tmux row)."""
    target = f"={TMUX_SESSION}:"
    history, limit = (
        int(field)
        for field in server.tmux(
            "display-message", "-p", "-t", target, "#{history_size} #{history_limit}", check=True
        ).stdout.split()
    )
    rows = server.tmux("capture-pane", "-p", "-S", "-", "-E", "-", "-t", target, check=True)
    index = [row.rstrip() for row in rows.stdout.splitlines()].index(text)
    said = f"while you were away (9 s): {lines} lines printed"
    return AwayMark(said, index - history, history, limit, text, lines)


async def test_the_away_ruler_finds_its_row_while_the_history_grows_and_drops(
    sshd: SshServer,
) -> None:
    # 1,000 lines of history: full, tmux drops its oldest tenth at each overflow, so the
    # mark's row moves up by amounts no size tells; it is told by its text, and once
    # dropped it is gone. (The mark is taken from the pane as the away notice takes it; a
    # real outage is in tests/ui/test_scrollback_view.py.)
    sshd.tmux("new-session", "-d", "-s", "holder", check=True)
    sshd.tmux("set-option", "-g", "history-limit", "1000", check=True)
    sshd.tmux("new-session", "-d", "-s", TMUX_SESSION, check=True)
    async with opened(reconnect_profile(sshd)) as watch:
        await watch.until(lambda: watch.state == "attached", ATTACH_WAIT, "the attach")
        await watch.run("echo; seq -f 'a%g' 1 600", "a600")
        watch.session.core.away.latest = away_mark_at(sshd, "a500", 101)

        def placed(lines: list[HistoryLine], source: TmuxScrollback) -> tuple[str, str] | None:
            ruler = source.away_ruler(lines)
            if ruler is None:
                return None
            return (lines[ruler.index - 1].text, lines[ruler.index].text)

        # The history grows while the view is open: rows keep their numbers.
        source = TmuxScrollback(watch.session)
        lines = await source.first()
        assert placed(lines, source) == ("a499", "a500")
        await watch.run("echo; seq -f 'b%g' 1 150", "b150")
        change = await source.follow(lines)
        assert change is not None
        assert not change.reload
        lines[change.keep :] = change.lines
        assert placed(lines, source) == ("a499", "a500")

        # Drops (the history passes 1,000 rows): found again in a view opened now.
        await watch.run("echo; seq -f 'c%g' 1 400", "c400")
        source = TmuxScrollback(watch.session)
        lines = await everything(source)
        assert lines[0].text != "a1"  # the oldest rows were dropped
        assert placed(lines, source) == ("a499", "a500")

        # Dropped itself: no ruler.
        await watch.run("echo; seq -f 'd%g' 1 1200", "d1200")
        source = TmuxScrollback(watch.session)
        lines = await everything(source)
        assert not any(line.text.startswith("a") for line in lines)
        assert source.away_ruler(lines) is None

#!/usr/bin/env python3
"""Scrollback view benchmark: 10,000 lines of remote tmux scrollback, read through a real Session.

The server is the test suite's real OpenSSH sshd with the remote tmux on its private socket:
on loopback, and (``--rtt``, root) inside a network namespace with every packet held
``RTT / 2`` each way (``NetnsSshServer.delay``). A Session attaches, prints 10,000 numbered,
partly coloured lines, and then, several times:

- *first page*: from asking to the visible page drawn: ``TmuxScrollback.first()`` (one exec
  channel on the tab's connection: tmux capture-pane of the screen and the newest history)
  plus building the page's strips as the view does. Goal: median <= 150 ms on loopback,
  <= RTT + 150 ms.
- *server search*: from a view just opened (its first page), ``/``'s search from the bottom
  for a line 5,000 lines back, answered by the server (``TmuxScrollback.search``: one
  capture-pane filtered there, the client checking the candidates), until the page around
  the match is drawn. Goal: <= RTT + 150 ms (issue 21 item 6).
- *search*: once every page is fetched, a search from the bottom for the oldest line (every
  line examined) plus the match spans of a screenful. Goal: <= 50 ms.
- *memory*: what the view's lines and styles hold for the whole history (tracemalloc), and
  per line; the view stops at ``MAX_VIEW_LINES`` lines of at most ``MAX_LINE_CHARACTERS``.

Run: ``.venv/bin/python scripts/bench_scrollback.py [--reps N] [--rtt MS]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from termkeep.config.profile import Profile  # noqa: E402
from termkeep.session.tab_session import Session  # noqa: E402
from termkeep.supervisor.phase import Phase  # noqa: E402
from termkeep.terminal.history_lines import HistoryLine, match_spans, search_lines  # noqa: E402
from termkeep.transport.prompts import NoPrompter  # noqa: E402
from termkeep.ui.scrollback_source import MAX_VIEW_LINES, TmuxScrollback  # noqa: E402
from termkeep.ui.widgets.cells import StyleResolver, styled_strip  # noqa: E402
from tests.fixtures.netns import start_netns_sshd  # noqa: E402
from tests.fixtures.profiles import profile_for  # noqa: E402
from tests.fixtures.sshd import SshServer, make_workdir, start_sshd  # noqa: E402

LINES = 10_000
COLUMNS, ROWS = 120, 40
WAIT = 60.0


async def attached_session(profile: Profile) -> Session:
    session = Session(profile, NoPrompter(), size=(COLUMNS, ROWS))
    session.keep_scrollback_warm()  # as the app's tabs do
    await session.start()
    deadline = time.monotonic() + WAIT
    while session.status().state is not Phase.ATTACHED:
        if time.monotonic() > deadline:
            raise SystemExit(f"no attach within {WAIT:g} s: {session.status()}")
        await asyncio.sleep(0.05)
    return session


async def print_history(session: Session) -> None:
    script = (
        f"awk 'BEGIN {{ for (i = 1; i <= {LINES}; i++) "
        'printf "line %d \\033[3%dmcoloured\\033[0m text\\n", i, i % 7 + 1 }\'; '
        "echo end-$((1+1))\r"
    )
    session.write(script.encode())
    deadline = time.monotonic() + WAIT
    while "end-2" not in session.emulator.text():
        if time.monotonic() > deadline:
            raise SystemExit(f"the history was not printed in time:\n{session.emulator.text()}")
        await asyncio.sleep(0.05)


def draw_page(source: TmuxScrollback, lines: list[HistoryLine], session: Session) -> None:
    resolver = StyleResolver()
    resolver.update(session.emulator.snapshot())
    for line in lines[-ROWS:]:
        styled_strip(line, source.styles, resolver, COLUMNS)


async def server_search_ms(session: Session, reps: int) -> list[float]:
    """A fresh view's search for the line ``LINES // 2`` lines back, until its page is drawn."""
    hit = f"line {LINES - LINES // 2} "
    times = []
    for _ in range(reps):
        source = TmuxScrollback(session)
        lines = await source.first()
        started = time.perf_counter()
        jump = await source.search(lines, hit, len(lines) - 1, forward=False, page=ROWS)
        shown = lines if jump is None or jump.lines is None else jump.lines
        if jump is None or not shown[jump.index].text.startswith(hit):
            raise SystemExit(f"the server search missed {hit!r}: {jump}")
        page = shown[max(0, jump.index - ROWS // 2) : jump.index + ROWS // 2]
        draw_page(source, page, session)
        times.append((time.perf_counter() - started) * 1000)
    return times


async def first_page_ms(session: Session, reps: int) -> list[float]:
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        source = TmuxScrollback(session)
        lines = await source.first()
        draw_page(source, lines, session)
        times.append((time.perf_counter() - started) * 1000)
    return times


async def fetch_all(session: Session) -> tuple[TmuxScrollback, list[HistoryLine]]:
    source = TmuxScrollback(session)
    lines = await source.first()
    while source.more_above:
        lines[:0] = await source.older(lines)
    return source, lines


def search_ms(lines: list[HistoryLine], reps: int) -> list[float]:
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        found = search_lines(lines, "LINE 1 ", len(lines) - 1, forward=False)  # exact case
        found = search_lines(lines, "line 1 ", len(lines) - 1, forward=False)
        for line in lines[-ROWS:]:
            match_spans(line.text, "line 1 ")
        times.append((time.perf_counter() - started) * 1000)
        if found is None or not lines[found].text.startswith("line 1 "):
            raise SystemExit(f"the search found the wrong line: {found}")
    return times


async def measure(server: SshServer, label: str, reps: int, rtt: float) -> None:
    server.tmux("new-session", "-d", "-s", "holder", check=True)
    server.tmux("set-option", "-g", "history-limit", str(LINES * 2), check=True)
    session = await attached_session(profile_for(server, name="bench", tmux_session="tk-bench"))
    try:
        await print_history(session)
        firsts = await first_page_ms(session, reps)
        server_searches = await server_search_ms(session, reps)
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        started = time.perf_counter()
        source, lines = await fetch_all(session)
        fetch_all_ms = (time.perf_counter() - started) * 1000
        held = sum(
            stat.size_diff for stat in tracemalloc.take_snapshot().compare_to(before, "filename")
        )
        tracemalloc.stop()
        searches = search_ms(lines, reps)
        numbered = sum(1 for line in lines if line.text.startswith("line "))
        print(f"{label}: {numbered} numbered lines of {len(lines)} in the view")
        print(
            f"  first page shown: median {statistics.median(firsts):.1f} ms "
            f"(min {min(firsts):.1f}, max {max(firsts):.1f}, n={reps})"
        )
        print(
            f"  server search, a hit {LINES // 2:,} lines back shown: "
            f"median {statistics.median(server_searches):.1f} ms "
            f"(min {min(server_searches):.1f}, max {max(server_searches):.1f}, n={reps}; "
            f"goal <= RTT + 150 = {rtt + 150:g} ms)"
        )
        print(f"  every page fetched: {fetch_all_ms:.0f} ms")
        print(
            f"  search across all lines: median {statistics.median(searches):.2f} ms "
            f"(max {max(searches):.2f})"
        )
        per_line = held / max(1, len(lines))
        print(
            f"  memory the view's lines hold: {held / 1e6:.2f} MB ({per_line:.0f} B a line; "
            f"bounded at {MAX_VIEW_LINES} lines: ~{per_line * MAX_VIEW_LINES / 1e6:.0f} MB "
            "for lines this long)"
        )
        del source
    finally:
        await session.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--rtt", type=float, default=0.0, help="also run at this RTT (ms; root)")
    args = parser.parse_args()
    # The tmux server the bench starts (for its holder session) gives its panes this shell,
    # as the test sshd does its sessions: this machine's ~/.bashrc runs `pyenv rehash`,
    # which waits 60 s on a lock left by any shell killed mid-rehash.
    os.environ["SHELL"] = "/bin/sh"
    os.environ.setdefault("PYENV_REHASH_TIMEOUT", "2")
    workdir = make_workdir()
    server = start_sshd(workdir)
    try:
        asyncio.run(measure(server, "loopback", args.reps, 0.0))
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    if args.rtt:
        if os.geteuid() != 0:
            print("bench_scrollback: --rtt needs root (network namespace)", file=sys.stderr)
            return 2
        workdir = make_workdir()
        netns_server = start_netns_sshd(workdir)
        try:
            with netns_server.delay(args.rtt / 2):
                asyncio.run(measure(netns_server, f"RTT +{args.rtt:g} ms", args.reps, args.rtt))
        finally:
            netns_server.stop()
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

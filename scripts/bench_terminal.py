#!/usr/bin/env python3
"""Terminal engine and TerminalView speed and memory, on the recorded tmux streams.

Prints: parse throughput (MB/s, goal >= 50), a dense full 240x60 frame turned into
Strips (goal <= 3 ms), a one-line scroll re-rendered (goal <= 0.5 ms), and resident
memory with 10k lines of scrollback at 80 and 240 columns (goal <= 25 MB).

Usage: .venv/bin/python scripts/bench_terminal.py
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from termkeep.terminal.emulator import Emulator  # noqa: E402 -- after the path fix
from termkeep.ui.widgets.cells import StyleResolver, row_strip  # noqa: E402
from termkeep.ui.widgets.terminal_view import TerminalView  # noqa: E402

STREAMS = ROOT / "tests" / "data" / "tmux_streams"
CHUNK = 16 * 1024  # about what sshd hands over per read with a PTY
PARSE_BYTES_TARGET = 64 * 1024 * 1024
REPEATS = 200
SCROLLBACK_LINES = 10_000


def recordings() -> list[tuple[str, bytes, int, int]]:
    """(name, stream, columns, rows) of every recorded stream."""
    found = []
    for meta_path in sorted(STREAMS.glob("*.json")):
        meta = json.loads(meta_path.read_text())
        stream = meta_path.with_suffix(".bin").read_bytes()
        found.append((meta_path.stem, stream, meta["columns"], meta["rows"]))
    return found


def ignore(_: bytes) -> None:
    """A write callback for replies nobody reads."""


def parse_throughput() -> None:
    """Feed every recording in CHUNK-sized reads until PARSE_BYTES_TARGET is parsed."""
    total_bytes = 0
    elapsed = 0.0
    while total_bytes < PARSE_BYTES_TARGET:
        for _, stream, columns, rows in recordings():
            emulator = Emulator(columns, rows, write=ignore)
            chunks = [stream[i : i + CHUNK] for i in range(0, len(stream), CHUNK)]
            start = time.perf_counter()
            for chunk in chunks:
                emulator.feed(chunk)
            elapsed += time.perf_counter() - start
            total_bytes += len(stream)
    rate = total_bytes / elapsed / 1e6
    print(f"parse: {rate:.0f} MB/s over {total_bytes / 1e6:.0f} MB (goal >= 50)")


def median_ms(action: Callable[[], object], repeats: int = REPEATS) -> float:
    """Median wall time of `action` in milliseconds."""
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def dense_emulator() -> Emulator:
    """The 240x60 shell recording up to its last checkpoint: every cell its own colours."""
    meta = json.loads((STREAMS / "shell-240x60.json").read_text())
    stream = (STREAMS / "shell-240x60.bin").read_bytes()
    last = meta["checkpoints"][-1]
    assert "dense" in last["step"], "the last shell step should draw the dense screen"
    emulator = Emulator(meta["columns"], meta["rows"], write=ignore)
    emulator.feed(stream[: last["offset"]])
    return emulator


def every_cell_styled_emulator() -> Emulator:
    """A synthetic 240x60 worst case: every cell has its own colours."""
    emulator = Emulator(240, 60, write=ignore)
    lines = []
    for row in range(60):
        cells = "".join(
            f"\x1b[38;5;{(row * 7 + column) % 256};48;5;{(row + column * 3) % 256}m"
            f"{chr(33 + (row + column) % 94)}"
            for column in range(240)
        )
        lines.append(f"\x1b[{row + 1};1H{cells}")
    emulator.feed("".join(lines).encode())
    return emulator


def strips_ms(emulator: Emulator) -> tuple[float, float, int]:
    """Median ms to turn every row into a Strip: styles already converted, and not."""
    snapshot = emulator.snapshot()
    warm = StyleResolver()
    warm.update(snapshot)

    def build_warm() -> None:
        for row in snapshot.rows:
            row_strip(row, snapshot.columns, snapshot.styles, warm)

    def build_cold() -> None:
        cold = StyleResolver()
        cold.update(snapshot)
        for row in snapshot.rows:
            row_strip(row, snapshot.columns, snapshot.styles, cold)

    segments = sum(
        len(row_strip(row, snapshot.columns, snapshot.styles, warm)) for row in snapshot.rows
    )
    return median_ms(build_warm), median_ms(build_cold, repeats=20), segments


def dense_frame() -> None:
    """A dense 240x60 frame turned into Strips, with no strip cached."""
    for label, emulator in (
        ("recorded dense 240x60 frame", dense_emulator()),
        ("worst case, every cell its own colours", every_cell_styled_emulator()),
    ):
        warm, cold, segments = strips_ms(emulator)
        print(
            f"{label} -> Strips ({segments} segments): {warm:.2f} ms, "
            f"{cold:.2f} ms converting its styles too (goal <= 3 ms)"
        )


def one_line_scroll() -> None:
    """A full 240x60 screen scrolls by one new line: snapshot + strips of changed rows."""
    # Imported here: the session stack (asyncssh) would swell the scrollback processes'
    # memory, which this script measures.
    from termkeep.session.tab import SessionTerminal  # noqa: PLC0415

    emulator = dense_emulator()
    view = TerminalView(SessionTerminal(emulator, send=ignore))
    view.draw_frame()
    built_before = view.strips_built
    counter = iter(range(1_000_000))

    def scroll() -> None:
        emulator.feed(b"\r\nnew line %d \x1b[31mred\x1b[0m" % next(counter))
        view.draw_frame()

    elapsed = median_ms(scroll)
    per_frame = (view.strips_built - built_before) / REPEATS
    print(
        f"one-line scroll re-rendered: {elapsed:.3f} ms, {per_frame:.0f} strip(s) "
        f"built per frame (goal <= 0.5 ms)"
    )


def resident_bytes() -> int:
    """This process's resident set size."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def scrollback_rss(columns: int) -> None:
    """In this process: RSS before and after 10k full, coloured lines into the scrollback."""
    emulator = Emulator(columns, 24, write=ignore, scrollback_lines=SCROLLBACK_LINES)
    before = resident_bytes()
    for number in range(SCROLLBACK_LINES + 24):
        text = f"{number:06d} " + "x" * (columns - 20)
        emulator.feed(f"\x1b[3{number % 8}m{text}\x1b[0m tail\r\n".encode())
    emulator.scroll_viewport(-(1 << 30))
    kept = emulator.scroll_offset
    after = resident_bytes()
    print(
        f"scrollback {columns} cols: {kept} lines kept, RSS +{(after - before) / 1e6:.1f} MB "
        f"(process {after / 1e6:.1f} MB) (goal <= 25 MB)"
    )


def scrollback_memory() -> None:
    """Each width measured in a fresh process, so one does not hide the other."""
    for columns in (80, 240):
        subprocess.run(
            [sys.executable, __file__, "--scrollback", str(columns)], check=True, timeout=300
        )


def main() -> int:
    """Run every measurement, or one scrollback measurement when asked (--scrollback N)."""
    if len(sys.argv) == 3 and sys.argv[1] == "--scrollback":
        scrollback_rss(int(sys.argv[2]))
        return 0
    parse_throughput()
    dense_frame()
    one_line_scroll()
    scrollback_memory()
    return 0


if __name__ == "__main__":
    sys.exit(main())

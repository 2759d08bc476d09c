#!/usr/bin/env python3
"""Echo benchmark: keystroke to visible-on-screen over a slow link, termkeep against ssh and mosh.

The lab is bench_reconnect's: the real OpenSSH sshd and tmux in a network namespace this
script creates, with ``NetnsSshServer.delay`` adding the round trip (TCP and mosh's UDP
alike). Each client runs in a pseudo-terminal this script owns, at the same size, and
everything the client writes to it is fed to termkeep's Emulator (libghostty-vt): what that
outer terminal shows is what a person would see. A frame held by synchronized output (mode
2026) counts only once it is released.

Clients (all in one run, each into a fresh tmux session): the termkeep app with ``predict =
"adaptive"`` (the default) and with ``"never"``, ``ssh -t host tmux`` (OpenSSH) and mosh
(``mosh ... -- tmux``) when ``mosh`` and ``mosh-server`` are installed.

For each RTT and client it measures:

- *echo*: a bash prompt; lines of text typed one key every ``--gap`` seconds, like a brisk
  typist, with a word inserted mid-line (left arrows) and a typo backspaced, each line
  ended by Enter (the first key of a line has no echo to learn from yet). Per character,
  the time from writing it to the outer terminal until it is visible in its cell (one its
  cell already shows, a space at the end of the line, is typed but not timed). Median and
  90th percentile over every timed key.
- *wrong*: after the last line and once everything settled, the cells of the outer
  terminal that differ from the remote pane (``tmux capture-pane`` on the server).
- *no-echo*: ``read -s`` waits for a secret; the most characters ever shown after its
  prompt while the secret is typed and until every guess would have timed out.

``--transfer-mib N`` also runs each termkeep client a second time (``tk-adaptive+xfer``,
``tk-never+xfer``) with an upload going on while the keys are typed, made the way a person
makes one in the app: the file's path is pasted into the tab at its shell prompt and the
upload is accepted (Enter), so it runs in the app itself, on the tab's ``TransferSession``
(a second connection of the same profile, over the same delayed link, to the same sshd).
In such a run every termkeep column runs without the ``TERMKEEP_TRACE`` the default run
inherits from bench_reconnect (its packet log would be the upload's bottleneck); the default
run is unchanged. Several links to one random N MiB file are pasted at once
(``--transfer-files``) so it outlasts the typing; the table says how many MB/s it moved
meanwhile and whether it was still moving when the last key had been measured.

Needs root (namespaces, nftables). Run: ``.venv/bin/python scripts/bench_echo.py``;
``--rtts 200`` for one RTT, ``--clients`` to pick. mosh decides by itself when to show its
guesses: in this lab at 200 ms it showed them to a key every 50 ms (median 17 ms), not to
one every 120 or 300 ms (212-236 ms).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import functools
import os
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_reconnect import _mosh, _ssh, _termkeep_app  # this script's own directory

from termkeep.terminal.emulator import Emulator
from tests.fixtures.netns import NetnsSshServer, start_netns_sshd
from tests.fixtures.sftp import with_sftp

SIZE = (100, 30)
"""The outer terminal's columns and rows, the same for every client."""
PROMPT = "tk$ "
SECRET_PROMPT = "secret:"  # noqa: S105 - a prompt's text, not a password
BACKSPACE, LEFT, RIGHT = "\x7f", "\x1b[D", "\x1b[C"
LINES: tuple[tuple[str, ...], ...] = (
    tuple(": the quick brown fox"),
    (*": jumps over lazy dog", *[LEFT] * 8, *"the ", *[RIGHT] * 8),
    (*": pack my box wiht", BACKSPACE, BACKSPACE, *"th five dozen"),
)
"""Typed after the prompt, each then ended by Enter: ``: `` makes them harmless commands.
Insertion in the middle of the line and backspace are guessed too, and must settle right."""
SECRET = "hunter22"  # noqa: S105 - typed at a no-echo prompt, the point of the test
READY_TIMEOUT = 40.0
CLOSE_TIMEOUT = 5.0
UPLOAD_QUESTION = "Paste the text"
"""A button of the app's question after a paste of local file paths (PasteUploadScreen); its
question line is cut at the dialog's width when the directory is long."""
TRANSFER_START_TIMEOUT = 30.0
TRANSFER_POLL = 0.2
PART = ".termkeep-part"
XFER = "+xfer"
TRACE_WORD = "TERMKEEP_TRACE="
UPLOAD_MARK = "\u2191"  # ↑, how the status line starts the transfer in flight


@dataclass(frozen=True)
class Client:
    """A client under test: its shell command and what it needs installed."""

    name: str
    command: Callable[[NetnsSshServer, Path], str]
    needs: tuple[str, ...] = ()

    def available(self) -> bool:
        return all(shutil.which(tool) for tool in self.needs)


def _termkeep_with(predict: str) -> Callable[[NetnsSshServer, Path], str]:
    def command(server: NetnsSshServer, home: Path) -> str:
        line = _termkeep_app(server, home)  # writes the profile into home/termkeep-config
        (home / "termkeep-config" / "settings.toml").write_text(f'predict = "{predict}"\n')
        return line

    return command


CLIENTS = [
    Client("tk-adaptive", _termkeep_with("adaptive")),
    Client("tk-never", _termkeep_with("never")),
    Client("ssh", _ssh, ("ssh",)),
    Client("mosh", _mosh, ("mosh", "mosh-server")),
]


class Outer:
    """The user's terminal: a pty running ``command``, its output fed to an Emulator."""

    def __init__(self, command: str, size: tuple[int, int] = SIZE) -> None:
        columns, rows = size
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        env = {name: value for name, value in os.environ.items() if name != "TMUX"}
        env |= {"TERM": "xterm-256color", "LANG": "C.UTF-8", "COLORTERM": "truecolor"}
        self.process = subprocess.Popen(
            ["/bin/sh", "-c", command],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
            preexec_fn=_take_controlling_terminal,  # noqa: PLW1509 - single-threaded script
        )
        os.close(slave)
        self.emulator = Emulator(columns, rows, write=self.write)
        self.closed = False

    def write(self, data: bytes) -> None:
        with contextlib.suppress(OSError):
            os.write(self.master, data)

    def pump(self, until: float) -> bool:
        """Wait until the client writes (or ``until``), feed what came; True if anything did."""
        timeout = max(until - time.monotonic(), 0)
        came = False
        while not self.closed:
            readable, _, _ = select.select([self.master], [], [], 0 if came else timeout)
            if not readable:
                break
            try:
                data = os.read(self.master, 65536)
            except OSError:
                data = b""
            if not data:
                self.closed = True
                break
            self.emulator.feed(data)
            came = True
        return came

    def visible(self) -> bool:
        """Whether the screen is what a terminal would show now (no frame being held)."""
        return not self.emulator.synchronized_output

    def cells(self) -> list[list[str]]:
        """The screen's graphemes, one per cell (the second half of a wide one is "")."""
        return [list(row.graphemes) for row in self.emulator.snapshot().rows]

    def lines(self) -> list[str]:
        return ["".join(row).rstrip() for row in self.cells()]

    def shows(self, text: str) -> bool:
        return any(text in line for line in self.lines())

    def wait_for(self, condition: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.visible() and condition():
                return True
            self.pump(min(deadline, time.monotonic() + 0.05))
        return self.visible() and condition()

    def idle(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.pump(deadline)

    def type(self, text: str) -> None:
        self.write(text.encode())

    def close(self) -> None:
        """End the client (our own child's process group), then reap it."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGHUP)
        try:
            self.process.wait(CLOSE_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(CLOSE_TIMEOUT)
        os.close(self.master)


def _take_controlling_terminal() -> None:
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def find_text(outer: Outer, text: str) -> tuple[int, int] | None:
    """The cell (x, y) where the last row that ends with ``text`` (trimmed) has it."""
    wanted = list(text.rstrip())
    for y, row in reversed(list(enumerate(outer.cells()))):
        trimmed = "".join(row).rstrip()
        if trimmed.endswith(text.rstrip()):
            for x in range(len(row) - len(wanted), -1, -1):
                if row[x : x + len(wanted)] == wanted:
                    return x, y
    return None


@dataclass
class Run:
    """One client at one RTT."""

    echo: list[float] = field(default_factory=list)
    lost: int = 0
    """Keys never seen in their cell."""
    wrong: int | None = None
    shown_no_echo: int | None = None
    notes: list[str] = field(default_factory=list)
    transfer_mbps: float | None = None
    """MB/s the upload moved while the keys were typed (None: no upload in this run)."""
    transfer_running_at_end: bool | None = None
    """Bytes still arriving at the end, or the app's status line still showing an upload (a
    file between its last byte and the end of its SHA-256 check moves none)."""
    transfer_moving_at_end: bool | None = None
    """Bytes arriving on the server in the last second of the run."""
    transfer_files_done: int | None = None
    transfer_status: str = ""
    """The upload as the app's status line showed it at the end ("" when it showed none)."""


def get_ready(outer: Outer, rtt: float) -> bool:
    """Wait for the remote shell, then start a plain bash with a known prompt."""
    retry = 3.0 + 12 * rtt
    deadline = time.monotonic() + READY_TIMEOUT
    number = 0
    while time.monotonic() < deadline:
        number += 1
        outer.type(f"echo tk-ready-$((1000+{number}))\r")
        ready = f"tk-ready-{1000 + number}"
        if outer.wait_for(functools.partial(outer.shows, ready), retry):
            break
    else:
        return False
    outer.type(f"exec env PS1='{PROMPT}' bash --norc --noprofile\r")
    outer.type("clear\r")
    return outer.wait_for(
        lambda: find_text(outer, PROMPT) is not None and not outer.shows("tk-ready"), retry
    )


def landing_columns(keys: tuple[str, ...]) -> list[int | None]:
    """For each key, the column (from the line's start) its character lands in; None for
    keys that edit (backspace, arrows). A line editor in insert mode, as bash's."""
    text: list[str] = []
    cursor = 0
    columns: list[int | None] = []
    for key in keys:
        column = None
        if key == BACKSPACE and cursor:
            cursor -= 1
            del text[cursor]
        elif key == LEFT:
            cursor = max(cursor - 1, 0)
        elif key == RIGHT:
            cursor = min(cursor + 1, len(text))
        elif key not in (BACKSPACE, LEFT, RIGHT):
            text.insert(cursor, key)
            column = cursor
            cursor += 1
        columns.append(column)
    return columns


def _cell(row: list[str], x: int) -> str:
    return " " if x >= len(row) or row[x] == "" else row[x]


def type_line(outer: Outer, keys: tuple[str, ...], gap: float, rtt: float, run: Run) -> None:
    """Type ``keys`` after the prompt, one every ``gap``; time each character to its cell."""
    start = find_text(outer, PROMPT)
    if start is None:
        run.notes.append("no prompt")
        return
    x0, y = start[0] + len(PROMPT), start[1]
    columns = landing_columns(keys)
    pending: dict[int, float] = {}
    began = time.monotonic()
    sent = 0
    settle_by = began + gap * len(keys) + 5.0 + 6 * rtt
    while (sent < len(keys) or pending) and time.monotonic() < settle_by:
        if sent < len(keys) and time.monotonic() >= began + sent * gap:
            column = columns[sent]
            # A character its cell already shows (a space typed at the end of the line)
            # cannot be seen arriving: typed, not timed.
            if column is not None and _cell(outer.cells()[y], x0 + column) != keys[sent]:
                pending[sent] = time.monotonic()
            outer.type(keys[sent])
            sent += 1
        next_key = began + sent * gap if sent < len(keys) else settle_by
        outer.pump(min(next_key, settle_by))
        if not outer.visible():
            continue
        row = outer.cells()[y]
        seen = time.monotonic()
        for index in [i for i in pending if _cell(row, x0 + (columns[i] or 0)) == keys[i]]:
            run.echo.append(seen - pending.pop(index))
    run.lost += len(pending)
    outer.type("\r")
    outer.wait_for(lambda: find_text(outer, PROMPT) not in (None, start), 5.0 + 6 * rtt)


def count_wrong(outer: Outer, server: NetnsSshServer) -> int | None:
    """Cells where the outer terminal differs from the remote pane, at the best alignment."""
    captured = server.tmux("capture-pane", "-p", "-t", "=bench:")
    width = server.tmux("display-message", "-p", "-t", "=bench:", "#{pane_width}")
    if captured.returncode != 0 or width.returncode != 0:
        return None
    columns = int(width.stdout)
    pane = [list(line.ljust(columns)[:columns]) for line in captured.stdout.splitlines()]
    screen = outer.cells()
    best: int | None = None
    for dy in range(len(screen) - len(pane) + 1):
        for dx in range(len(screen[0]) - columns + 1):
            differ = 0
            for y, pane_row in enumerate(pane):
                row = screen[dy + y][dx : dx + columns]
                cells = [" " if cell in ("", " ") else cell for cell in row]
                differ += sum(1 for a, b in zip(cells, pane_row, strict=True) if a != b)
            best = differ if best is None else min(best, differ)
    return best


def find_secret_prompt(outer: Outer) -> tuple[int, int] | None:
    """Where ``read -s`` prints its prompt: a row ending with it that is not the command
    line's own echo (at a long RTT that echo arrives a few characters at a time, and while
    it ends in ``'secret:`` it looks like the prompt; the rest of it then counted as shown)."""
    found = find_text(outer, SECRET_PROMPT)
    if found is None:
        return None
    row = "".join(outer.cells()[found[1]])
    return None if "read -s" in row else found


def measure_no_echo(outer: Outer, gap: float, settle: float, run: Run) -> None:
    """Type a secret at ``read -s`` and count the most characters ever shown after its prompt."""
    outer.type(f"read -s -p '{SECRET_PROMPT} ' x; echo got-${{#x}}\r")
    if not outer.wait_for(lambda: find_secret_prompt(outer) is not None, 10.0 + settle):
        run.notes.append("read -s did not start")
        return
    prompt = find_secret_prompt(outer)
    assert prompt is not None
    x0, y = prompt[0] + len(SECRET_PROMPT), prompt[1]

    def shown() -> int:
        row = outer.cells()[y]
        return sum(1 for cell in row[x0:] if cell not in ("", " "))

    most = 0
    for character in SECRET:
        outer.type(character)
        deadline = time.monotonic() + gap
        while time.monotonic() < deadline:
            outer.pump(deadline)
            if outer.visible():
                most = max(most, shown())
    deadline = time.monotonic() + settle
    while time.monotonic() < deadline:
        outer.pump(deadline)
        if outer.visible():
            most = max(most, shown())
    run.shown_no_echo = most
    outer.type("\r")
    # read -s ends no line of its own: its output follows the prompt.
    ended = f"{SECRET_PROMPT} got-{len(SECRET)}"
    if not outer.wait_for(lambda: outer.shows(ended), 10.0 + settle):
        run.notes.append("read -s did not end")


class Upload:
    """An upload the app runs while the keys are typed: ``files`` links to one source file,
    pasted into the tab at once, landing in ``remote`` (on this machine: the lab's server is
    this machine in a namespace). A thread watches the remote files grow."""

    def __init__(self, source: Path, files: int, work: Path) -> None:
        self.remote = work / "remote"
        self.remote.mkdir()
        local = work / "local"
        local.mkdir()
        self.paths = [local / f"xfer-{number:02}.bin" for number in range(1, files + 1)]
        for path in self.paths:
            os.link(source, path)  # the same bytes under several names, no copy on disk
        self.size = source.stat().st_size
        self._samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def paste(self) -> str:
        """What a terminal sends when these files are dropped on it: a bracketed paste."""
        return "\x1b[200~" + " ".join(str(path) for path in self.paths) + "\x1b[201~"

    def moved(self) -> int:
        """Bytes written on the server so far (partial files and finished ones)."""
        total = 0
        for path in self.remote.iterdir():
            with contextlib.suppress(FileNotFoundError):
                total += path.stat().st_size
        return total

    def done(self) -> int:
        return sum(1 for path in self.remote.iterdir() if not path.name.endswith(PART))

    def watch(self) -> None:
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(TRANSFER_POLL):
            self._samples.append((time.monotonic(), self.moved()))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(CLOSE_TIMEOUT)

    def rate_between(self, start: float, end: float) -> float | None:
        """MB/s moved from ``start`` to ``end`` (the samples nearest inside)."""
        inside = [(at, moved) for at, moved in self._samples if start <= at <= end]
        if len(inside) < 2 or inside[-1][0] <= inside[0][0]:
            return None
        (first_at, first), (last_at, last) = inside[0], inside[-1]
        return (last - first) / (last_at - first_at) / 1e6

    def running_at(self, end: float) -> bool:
        """Whether bytes were still arriving in the second before ``end``."""
        return (self.rate_between(end - 1.0, end) or 0.0) > 0


def upload_status(outer: Outer) -> str:
    """The status line's upload (``↑ name 42% 12.3 MB/s 8 s left``), or "" without one."""
    for line in outer.lines():
        if UPLOAD_MARK in line:
            return line[line.index(UPLOAD_MARK) :].split(" · ")[0].strip()
    return ""


def start_upload(outer: Outer, upload: Upload, rtt: float, run: Run) -> bool:
    """Move the remote shell into the upload's directory, paste the files and accept the
    app's question; True once bytes arrive on the server."""
    outer.type(f"cd '{upload.remote}' && clear\r")
    if not outer.wait_for(lambda: find_text(outer, PROMPT) is not None, 5.0 + 6 * rtt):
        run.notes.append("no prompt after cd")
        return False
    upload.watch()
    outer.type(upload.paste())
    if not outer.wait_for(functools.partial(outer.shows, UPLOAD_QUESTION), 10.0 + 12 * rtt):
        run.notes.append("the app did not offer an upload: " + " / ".join(outer.lines()[-3:]))
        return False
    outer.type("\r")  # Enter: Upload (the question's focused button)
    deadline = time.monotonic() + TRANSFER_START_TIMEOUT
    while time.monotonic() < deadline and upload.moved() == 0:
        outer.pump(min(deadline, time.monotonic() + TRANSFER_POLL))
    if upload.moved() == 0:
        run.notes.append("upload did not start")
        return False
    return True


def _untraced(command: str) -> str:
    """``command`` without its ``TERMKEEP_TRACE=FILE`` word. The trace logs every SSH message
    (asyncssh's packet log, formatted dump and all): harmless for keystrokes, but for an
    upload it is the bottleneck (here ``termkeep put`` of 64 MiB at RTT 50 ran at 0.9 MB/s
    with three keepalive drops traced, 17.7 MB/s without)."""
    return " ".join(word for word in command.split(" ") if not word.startswith(TRACE_WORD))


@dataclass(frozen=True)
class Transfer:
    """``--transfer-mib``: the source file and how many links to it one run pastes."""

    source: Path
    files: int


def run_client(
    client: Client,
    server: NetnsSshServer,
    rtt: float,
    gap: float,
    transfer: Transfer | None = None,
    *,
    traced: bool = True,
) -> Run:
    """One client at one RTT; with ``transfer``, typed while the app uploads. ``traced``
    False runs termkeep without the ``TERMKEEP_TRACE`` bench_reconnect's command line sets."""
    run = Run()
    settle = max(2.5, 3 * rtt + 1.5)
    """Longer than any guess may stay unconfirmed (termkeep: 3 RTT + 0.5 s, at least 1 s)."""
    with tempfile.TemporaryDirectory(prefix=f"tk-echo-{client.name}-") as tmp:
        command = client.command(server, Path(tmp))
        outer = Outer(command if traced else _untraced(command))
        upload = None if transfer is None else Upload(transfer.source, transfer.files, Path(tmp))
        try:
            if not get_ready(outer, rtt):
                run.notes.append("could not attach: " + " / ".join(outer.lines()[-3:]))
                return run
            if upload is not None and not start_upload(outer, upload, rtt, run):
                return run
            outer.idle(settle)
            began = time.monotonic()
            for line in LINES:
                type_line(outer, line, gap, rtt, run)
            outer.idle(settle)
            run.wrong = count_wrong(outer, server)
            measure_no_echo(outer, gap, settle, run)
            if upload is not None:
                ended = time.monotonic()
                upload.stop()
                run.transfer_mbps = upload.rate_between(began, ended)
                run.transfer_status = upload_status(outer)
                run.transfer_moving_at_end = upload.running_at(ended)
                run.transfer_running_at_end = run.transfer_moving_at_end or bool(
                    run.transfer_status
                )
                run.transfer_files_done = upload.done()
        finally:
            if upload is not None:
                upload.stop()
            outer.close()
            server.kill_tmux(missing_ok=True)
    return run


@contextlib.contextmanager
def lab(rtt_ms: float, sftp: bool = False) -> Iterator[NetnsSshServer]:
    with tempfile.TemporaryDirectory(prefix="tk-echo-server-") as tmp:
        server = start_netns_sshd(Path(tmp))
        try:
            if sftp:
                with_sftp(server)
            server.delay(rtt_ms / 2)
            yield server
        finally:
            server.kill_tmux(missing_ok=True)
            server.stop()


def _ms(values: list[float], quantile: float) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(quantile * len(ordered)))] * 1000:.0f}"


def summary(run: Run) -> str:
    if not run.echo:
        return "no keys seen " + "; ".join(run.notes)
    median = statistics.median(run.echo) * 1000
    text = (
        f"median {median:6.1f} ms  p90 {_ms(run.echo, 0.9):>5} ms  keys timed {len(run.echo)}"
        f"  lost {run.lost}  wrong {run.wrong}  no-echo shown {run.shown_no_echo}"
    )
    if run.transfer_running_at_end is not None:
        rate = "-" if run.transfer_mbps is None else f"{run.transfer_mbps:.1f}"
        still = "still running" if run.transfer_running_at_end else "NOT running"
        moving = "bytes moving" if run.transfer_moving_at_end else "no bytes moving"
        text += f"  upload {rate} MB/s, {still} at the end ({moving})"
        text += f", {run.transfer_files_done} done"
        text += f" (status line: {run.transfer_status or 'no upload'})"
    return text + (f"  [{'; '.join(run.notes)}]" if run.notes else "")


def _transfer_cell(run: Run) -> str:
    if run.transfer_running_at_end is None:
        return "-"
    rate = "?" if run.transfer_mbps is None else f"{run.transfer_mbps:.0f}"
    return f"{rate}{'' if run.transfer_running_at_end else ' ended'}"


TABLE_ROWS: list[tuple[str, Callable[[Run], str]]] = [
    ("echo median ms", lambda r: f"{statistics.median(r.echo) * 1000:.1f}" if r.echo else "-"),
    ("echo p90 ms", lambda r: _ms(r.echo, 0.9)),
    ("keys lost", lambda r: str(r.lost)),
    ("wrong cells at end", lambda r: str(r.wrong)),
    ("shown at no-echo", lambda r: str(r.shown_no_echo)),
]
TRANSFER_ROWS: list[tuple[str, Callable[[Run], str]]] = [
    ("upload MB/s meanwhile", _transfer_cell),
    (
        "upload files done",
        lambda r: "-" if r.transfer_files_done is None else str(r.transfer_files_done),
    ),
]


def print_table(results: dict[float, dict[str, Run]], names: list[str]) -> None:
    width = max(14, *(len(name) + 2 for name in names))
    transfer = any(name.endswith(XFER) for name in names)
    print()
    print(f"{'':30}" + "".join(f"{name:>{width}}" for name in names))
    for rtt_ms, runs in results.items():
        for title, cell in TABLE_ROWS + (TRANSFER_ROWS if transfer else []):
            label = f"RTT {rtt_ms:g} {title}"
            print(
                f"{label:30}"
                + "".join(f"{cell(runs[n]) if n in runs else '-':>{width}}" for n in names)
            )
        adaptive, ssh = runs.get("tk-adaptive"), runs.get("ssh")
        if adaptive and ssh and adaptive.echo and ssh.echo:
            ratio = statistics.median(adaptive.echo) / statistics.median(ssh.echo)
            print(f"RTT {rtt_ms:g}: tk-adaptive median / ssh median = {ratio:.2f}")
        for name in names:
            alone, loaded = runs.get(name), runs.get(name + XFER)
            if alone and loaded and alone.echo and loaded.echo:
                print(f"RTT {rtt_ms:g}: {_within_a_round_trip(name, alone, loaded, rtt_ms)}")
        if transfer:
            print("(upload MB/s: while the keys were typed; 'ended': no longer moving at the end)")
        print()


def _within_a_round_trip(name: str, alone: Run, loaded: Run, rtt_ms: float) -> str:
    """Issue 23's bar: the echo during an upload stays within one round trip of its figure
    without one (median and p90)."""
    parts = []
    for what, alone_ms, loaded_ms in (
        ("median", statistics.median(alone.echo) * 1000, statistics.median(loaded.echo) * 1000),
        ("p90", float(_ms(alone.echo, 0.9)), float(_ms(loaded.echo, 0.9))),
    ):
        verdict = "within" if loaded_ms - alone_ms <= rtt_ms else "NOT within"
        parts.append(f"{what} {loaded_ms - alone_ms:+.0f} ms ({verdict} one RTT)")
    return f"{name} with upload vs without: " + ", ".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rtts", default="50,200,500", help="round trips to add, in ms")
    parser.add_argument(
        "--clients", default=",".join(c.name for c in CLIENTS), help="comma list of clients"
    )
    parser.add_argument("--gap", type=float, default=0.12, help="seconds between typed keys")
    parser.add_argument(
        "--transfer-mib",
        type=int,
        default=0,
        help="also run each termkeep client while the app uploads files of this many MiB",
    )
    parser.add_argument(
        "--transfer-files",
        type=int,
        default=12,
        help="how many such files one run pastes at once (enough to outlast the typing)",
    )
    args = parser.parse_args()
    if args.transfer_mib < 0 or args.transfer_files < 1:
        print("bench_echo: --transfer-mib must be >= 0 and --transfer-files >= 1", file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print("bench_echo: needs root to create the network namespace", file=sys.stderr)
        return 2
    wanted = args.clients.split(",")
    clients = [client for client in CLIENTS if client.name in wanted]
    for client in clients:
        if not client.available():
            print(f"{client.name}: not installed ({', '.join(client.needs)}), skipped")
    clients = [client for client in clients if client.available()]
    keys = sum(len(line) for line in LINES)
    size = f"{SIZE[0]}x{SIZE[1]}"
    print(f"outer terminal {size}, {keys} keys in {len(LINES)} lines, one every {args.gap:g} s")
    with contextlib.ExitStack() as stack:
        transfer = None
        if args.transfer_mib:
            source = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tk-echo-xfer-")))
            transfer = Transfer(make_source(source, args.transfer_mib), args.transfer_files)
            print(f"upload during the +xfer runs: {args.transfer_files} x {args.transfer_mib} MiB")
        results = run_all(clients, args.rtts, args.gap, transfer)
    names = [name for client in clients for name in _names(client, transfer)]
    print_table(results, names)
    return 0


def _names(client: Client, transfer: Transfer | None) -> list[str]:
    """The client's columns: with an upload too for termkeep's, when one was asked for."""
    if transfer is not None and client.name.startswith("tk-"):
        return [client.name, client.name + XFER]
    return [client.name]


def make_source(directory: Path, mib: int) -> Path:
    """``mib`` MiB of random bytes (nothing for compression to shrink), as bench_transfer."""
    source = directory / "source.bin"
    with source.open("wb") as handle:
        for _ in range(mib):
            handle.write(os.urandom(1 << 20))
    return source


def run_all(
    clients: list[Client], rtts: str, gap: float, transfer: Transfer | None
) -> dict[float, dict[str, Run]]:
    results: dict[float, dict[str, Run]] = {}
    for rtt_ms in (float(value) for value in rtts.split(",") if value):
        results[rtt_ms] = {}
        with lab(rtt_ms, sftp=transfer is not None) as server:
            for client in clients:
                for name in _names(client, transfer):
                    loaded = transfer if name.endswith(XFER) else None
                    # Both columns of a transfer run untraced, so they differ by the upload only.
                    traced = transfer is None
                    run = run_client(client, server, rtt_ms / 1000, gap, loaded, traced=traced)
                    results[rtt_ms][name] = run
                    print(f"RTT {rtt_ms:5g} ms  {name:17} {summary(run)}", flush=True)
    return results


if __name__ == "__main__":
    raise SystemExit(main())

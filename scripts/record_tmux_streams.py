#!/usr/bin/env python3
"""Record the raw bytes a real tmux client receives, with `tmux capture-pane` checkpoints.

Each scenario runs in its own tmux server (`-L tk-test-<pid>`, `-f /dev/null`, private
TMUX_TMPDIR) with the status line off, so the client's screen is exactly the pane. A tmux
client runs on a pty this script owns and everything tmux writes to it is kept. After
each step the script waits until the pane shows the step's expected text, then renames
the window: with `set-titles on` tmux sends the new title to the client *after* the
output it already forwarded, so seeing it in the stream marks a consistent point, where
the stream offset and `capture-pane -p` are recorded together.

Usage: scripts/record_tmux_streams.py [OUTPUT_DIR]   (default tests/data/tmux_streams)
The differential test replays the files and compares the Emulator with the checkpoints.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

SIZES = ((80, 24), (240, 60))
STEP_TIMEOUT = 10.0
# The prompt is set explicitly (as root, sh ignores PS1 from the environment); the pane
# is matched without its trailing space, which capture-pane trims.
PROMPT = "tk>"
POLL_INTERVAL = 0.02
QUIET_PERIOD = 0.3
DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "tmux_streams"


@dataclass(frozen=True)
class Step:
    """Keys sent to the pane (tmux send-keys arguments) and text that shows they took.

    With no `expect`, the step has taken when the pane differs from before it.
    """

    keys: tuple[str, ...]
    expect: str | None = None
    literal: bool = False


def typed(command: str, expect: str) -> Step:
    """A shell command typed and entered."""
    return Step((command, "Enter"), expect, literal=False)


def keys(*names: str, expect: str | None = None) -> Step:
    """tmux key names (C-d, Escape, ...) sent as keys."""
    return Step(names, expect)


@dataclass(frozen=True)
class Scenario:
    """A named list of steps run in a fresh pane."""

    name: str
    steps: tuple[Step, ...]
    files: dict[str, str] = field(default_factory=dict)


NUMBERED = "".join(f"line {n:03d} of the numbered file, for scrolling\n" for n in range(1, 301))
SGR_LINES = r"""printf '\033[1mbold\033[0m \033[2mfaint\033[0m \033[3mitalic\033[0m '
printf '\033[4munder\033[0m \033[7minverse\033[0m \033[9mstrike\033[0m\n'
printf '\033[31mred \033[32mgreen \033[33myellow \033[34mblue '
printf '\033[35mmagenta \033[36mcyan \033[0m\n'
printf '\033[91mbright \033[92mgreen \033[44;97mwhite on blue\033[0m\n'
printf '\033[38;5;208m256 orange \033[48;5;22mdark green bg\033[0m\n'
printf '\033[38;2;255;105;180mtruecolor pink \033[48;2;0;0;128mon navy\033[0m\n'
echo sgr-done
"""
REGION_SCRIPT = r"""printf '\033[2J\033[H'
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do printf 'row %s\n' $i; done
printf '\033[3;8r\033[8;1H'
for i in a b c d e; do printf '\nscrolled-in %s' $i; done
printf '\033[3;1H\033MRI-top\033M\033MRI-again'
printf '\033[5;1H\033[2Linserted\033[1M'
printf '\033[r\033[10;1H\033[5@\033[3P\033[2X\033[K'
printf '\033[14;1Hregion-done\n'
"""
WIDE_SCRIPT = r"""printf '中文字符 wide: 日本語テキスト\n'
printf 'emoji: 🙂 👍 🎉 done\n'
printf 'combining: e\314\201 a\314\210 n\314\203\n'
printf '\033(0lqqqqk\nx    x\nmqqqqj\033(B\n'
printf '┌──┬──┐\n│ab│cd│\n└──┴──┘\n'
printf 'wide Hangul: 한국어\n'
echo wide-done
"""
ALT_SCRIPT = r"""printf 'before the alternate screen\n'
printf '\033[?1049h\033[H\033[2Jon the alternate screen\n\033[5;5Hmiddle'
sleep 0.2
printf '\033[?1049l'
echo alt-done
"""
# A full screen of text whose colours change every few cells, as syntax highlighting does.
DENSE_SCRIPT = r"""set -- $(stty size)
awk -v rows="$1" -v cols="$2" 'BEGIN {
  for (r = 0; r < rows - 2; r++) {
    line = ""
    for (c = 0; c < cols - 1; c++) {
      if (c % 6 == 0)
        line = line sprintf("\033[38;5;%d;48;5;%dm", (r + c) % 256, (r * 3 + c) % 24 + 232)
      line = line sprintf("%c", 33 + (r + c) % 94)
    }
    print line "\033[0m"
  }
}'
echo dense-done
"""

SCENARIOS = (
    Scenario(
        "shell",
        (
            typed("sh sgr.sh", "sgr-done"),
            typed("seq 1 400", "400"),
            typed("clear; sh region.sh", "region-done"),
            typed("clear; sh wide.sh", "wide-done"),
            typed("sh alt.sh", "alt-done"),
            typed("clear; sh dense.sh", "dense-done"),
        ),
        {
            "sgr.sh": SGR_LINES,
            "region.sh": REGION_SCRIPT,
            "wide.sh": WIDE_SCRIPT,
            "alt.sh": ALT_SCRIPT,
            "dense.sh": DENSE_SCRIPT,
        },
    ),
    Scenario(
        "vim",
        (
            typed("vim -u NONE -i NONE -N numbered.txt", "line 001"),
            keys("C-d"),
            keys("C-d", "C-d"),
            keys("C-u"),
            keys("1", "5", "0", "G", expect="line 150"),
            keys("o", "inserted by vim", "Escape", expect="inserted by vim"),
            keys("k", "d", "d"),
            keys("C-e", "C-e", "C-e", "C-y"),
            keys("G", expect="line 300"),
            keys(":", "q", "!", "Enter", expect=PROMPT),
        ),
        {"numbered.txt": NUMBERED},
    ),
    Scenario(
        "less",
        (
            typed("less numbered.txt", "line 001"),
            keys("Space"),
            keys("j", "j", "j"),
            keys("k", "k"),
            keys("b"),
            keys("/", "line 200", "Enter", expect="line 200"),
            keys("G", expect="line 300"),
            keys("g", expect="line 001"),
            keys("q", expect=PROMPT),
        ),
        {"numbered.txt": NUMBERED},
    ),
)


@dataclass
class Checkpoint:
    """Where in the stream the pane looked like `screen`."""

    step: str
    offset: int
    screen: list[str]


class PtyClient:
    """A tmux client on a pty we own; a thread reads its output as soon as it is written.

    Reading at once matters: a client that falls behind makes tmux skip ahead and redraw
    later, out of order with the title marker the checkpoints rely on.
    """

    def __init__(self, argv: list[str], env: dict[str, str], columns: int, rows: int) -> None:
        self.fd, terminal = os.openpty()
        fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        # subprocess spawns without copying this process (pty.fork would, and forking a
        # big test process can fail with ENOMEM).
        self._process = subprocess.Popen(
            argv, stdin=terminal, stdout=terminal, stderr=terminal, env=env, start_new_session=True
        )
        os.close(terminal)
        self._output = bytearray()
        self._arrived = threading.Condition()
        self._reader = threading.Thread(target=self._read_until_closed, daemon=True)
        self._reader.start()

    def _read_until_closed(self) -> None:
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:  # the client exited: EIO on Linux
                chunk = b""
            with self._arrived:
                self._output += chunk
                self._arrived.notify_all()
            if not chunk:
                return

    @property
    def output(self) -> bytes:
        """Everything the client wrote so far."""
        with self._arrived:
            return bytes(self._output)

    def wait_for_output(self, timeout: float) -> bool:
        """Wait at most `timeout` seconds for more output; whether some came."""
        with self._arrived:
            length = len(self._output)
            return self._arrived.wait_for(lambda: len(self._output) > length, timeout)

    def wait_quiet(self, deadline: float) -> int:
        """Wait until nothing arrives for QUIET_PERIOD; the stream length then."""
        while time.monotonic() < deadline:
            if not self.wait_for_output(QUIET_PERIOD):
                return len(self.output)
        raise TimeoutError("the client never went quiet")

    def close(self) -> None:
        """Wait for the client (it exits with its server), then close the pty."""
        try:
            self._process.wait(STEP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._process.kill()  # our own child, by its handle
            self._process.wait(STEP_TIMEOUT)
        self._reader.join(STEP_TIMEOUT)
        os.close(self.fd)


class TmuxServer:
    """A private tmux server: own socket name, own TMUX_TMPDIR, no user config."""

    def __init__(self, workdir: Path) -> None:
        self.socket = f"tk-test-{os.getpid()}"
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(workdir),
            "TMUX_TMPDIR": str(workdir),
            "LANG": "C.UTF-8",
            "TERM": "xterm-256color",
            "ENV": "",
        }

    def argv(self, *args: str) -> list[str]:
        """A tmux command line for this server."""
        return ["tmux", "-u", "-L", self.socket, "-f", "/dev/null", *args]

    def run(self, *args: str) -> str:
        """Run a tmux command against this server and return its output."""
        completed = subprocess.run(
            self.argv(*args),
            env=self.env,
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT,
            check=True,
        )
        return completed.stdout

    def kill(self) -> None:
        """Kill this server (by its socket), leaving any other tmux alone."""
        subprocess.run(
            self.argv("kill-server"),
            env=self.env,
            capture_output=True,
            timeout=STEP_TIMEOUT,
            check=False,  # already gone is fine
        )


@contextmanager
def tmux_session(workdir: Path, columns: int, rows: int) -> Iterator[tuple[TmuxServer, PtyClient]]:
    """A detached session running sh in `workdir`, with a client attached on our pty."""
    server = TmuxServer(workdir)
    server.run(
        "new-session", "-d", "-s", "rec", "-x", str(columns), "-y", str(rows),
        "-c", str(workdir), f"PS1='{PROMPT} ' sh",
    )  # fmt: skip
    client: PtyClient | None = None
    try:
        for option in (("status", "off"), ("set-titles", "on"), ("set-titles-string", "#W")):
            server.run("set-option", "-g", *option)
        server.run("set-option", "-g", "default-terminal", "tmux-256color")
        server.run("set-window-option", "-g", "automatic-rename", "off")
        client = PtyClient(server.argv("attach", "-t", "rec"), server.env, columns, rows)
        yield server, client
    finally:
        server.kill()
        if client is not None:
            client.close()


def wait_for_pane(server: TmuxServer, client: PtyClient, expect: str | None, before: str) -> None:
    """Wait until the pane shows `expect`, or with None, until it differs from `before`."""
    deadline = time.monotonic() + STEP_TIMEOUT
    while True:
        screen = server.run("capture-pane", "-p", "-t", "rec")
        if (expect in screen) if expect is not None else (screen != before):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"pane never showed {expect!r}" if expect else "pane never changed")
        client.wait_for_output(POLL_INTERVAL)


# DEC special graphics, as tmux draws them on a UTF-8 terminal (its tty_acs table).
DEC_GRAPHICS = dict(zip("`afgjklmnopqrstuvwxyz{|}~", "◆▒°±┘┐┌└┼⎺⎻─⎼⎽├┤┴┬│≤≥π≠£·", strict=True))
SGR_OR_HYPERLINK = re.compile(r"\x1b\[[0-9;:]*m|\x1b\]8;[^\x07\x1b]*(?:\x07|\x1b\\)")
LINE_DRAWING_SPAN = re.compile("\x0e([^\x0f]*)\x0f?")


def plain_screen(captured: str) -> list[str]:
    """`capture-pane -p -e` output as plain lines, line-drawing cells as Unicode.

    Plain `capture-pane -p` prints a line-drawing cell as its ASCII letter (`q` for
    `─`); with `-e` tmux marks those cells with SO/SI, so they can be translated to what
    the client actually shows.
    """
    text = SGR_OR_HYPERLINK.sub("", captured)
    text = LINE_DRAWING_SPAN.sub(
        lambda span: "".join(DEC_GRAPHICS.get(char, char) for char in span.group(1)), text
    )
    return [line.rstrip() for line in text.rstrip("\n").split("\n")]


def capture(server: TmuxServer) -> str:
    """The pane as `capture-pane -p -e` prints it."""
    return server.run("capture-pane", "-p", "-e", "-t", "rec")


def sync_point(server: TmuxServer, client: PtyClient, marker: str) -> tuple[int, list[str]]:
    """Wait until the client stream holds everything the pane shows; (offset, screen)."""
    deadline = time.monotonic() + STEP_TIMEOUT
    for attempt in range(50):
        screen = capture(server)
        title = f"{marker}-{attempt}".encode()
        server.run("rename-window", "-t", "rec", title.decode())
        while title not in client.output:
            if time.monotonic() > deadline:
                raise TimeoutError(f"client never received title {title!r}")
            client.wait_for_output(POLL_INTERVAL)
        # Under heavy output tmux skips ahead and redraws the pane later, after the title,
        # so the checkpoint is where the stream has also gone quiet.
        end = client.wait_quiet(deadline)
        if capture(server) == screen:
            return end, plain_screen(screen)
    raise TimeoutError("the pane never settled")


def record(scenario: Scenario, columns: int, rows: int) -> tuple[bytes, list[Checkpoint]]:
    """Run a scenario in a fresh tmux; the client's bytes and the checkpoints."""
    with tempfile.TemporaryDirectory(prefix="tk-rec-") as directory:
        workdir = Path(directory)
        for name, content in scenario.files.items():
            (workdir / name).write_text(content)
        checkpoints = []
        with tmux_session(workdir, columns, rows) as (server, client):
            wait_for_pane(server, client, PROMPT, "")
            for index, step in enumerate(scenario.steps):
                before = server.run("capture-pane", "-p", "-t", "rec")
                literal = ("-l",) if step.literal else ()
                server.run("send-keys", "-t", "rec", *literal, *step.keys)
                wait_for_pane(server, client, step.expect, before)
                offset, screen = sync_point(server, client, f"tk-checkpoint-{index}")
                checkpoints.append(Checkpoint(" ".join(step.keys), offset, screen))
            stream = bytes(client.output)
    return stream, checkpoints


def save(
    directory: Path,
    *,
    name: str,
    stream: bytes,
    columns: int,
    rows: int,
    checkpoints: list[Checkpoint],
) -> None:
    """Write NAME.bin (the stream) and NAME.json (size and checkpoints)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.bin").write_bytes(stream)
    meta = {
        "columns": columns,
        "rows": rows,
        "checkpoints": [checkpoint.__dict__ for checkpoint in checkpoints],
    }
    (directory / f"{name}.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n")


def record_all(directory: Path, scenarios: tuple[Scenario, ...] = SCENARIOS) -> list[str]:
    """Record every scenario at every size into `directory`; the names written."""
    names = []
    for scenario in scenarios:
        for columns, rows in SIZES:
            name = f"{scenario.name}-{columns}x{rows}"
            stream, checkpoints = record(scenario, columns, rows)
            save(
                directory,
                name=name,
                stream=stream,
                columns=columns,
                rows=rows,
                checkpoints=checkpoints,
            )
            names.append(name)
    return names


def main() -> int:
    """Record into the directory given, or the test data directory."""
    if shutil.which("tmux") is None:
        print("tmux is not installed: install it (apt-get install tmux) and run again")
        return 1
    directory = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUTPUT
    for name in record_all(directory):
        print(f"recorded {directory / name}.bin")
    return 0


if __name__ == "__main__":
    sys.exit(main())

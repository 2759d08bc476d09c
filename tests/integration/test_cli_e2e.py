"""The real `termkeep` command, driven in a real tmux pane like a person would use it.

Keys go in with ``tmux send-keys``, the screen comes back with ``tmux capture-pane``. The
server is the real sshd in a network namespace (or the built-in demo server), and the network
is cut silently with nftables (or the demo's own relay).
"""

from __future__ import annotations

import re
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from termkeep.config.profile import KeepaliveSettings
from termkeep.config.store import ProfileStore
from tests.fixtures import procs
from tests.fixtures.netns import NetnsSshServer
from tests.fixtures.profiles import profile_for
from tests.fixtures.soak_evidence import rows_compared
from tests.fixtures.sshd import SshServer
from tests.fixtures.tmux_pane import TmuxPane, termkeep_command, tmux_pane
from tests.fixtures.waiting import wait_until

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")

TMUX_SESSION = "tk-e2e"
ATTACH = 30.0
RECOVER = 60.0
PREFIX = "C-\\"  # ctrl+backslash, termkeep's default prefix key


def save_profile(config_dir: Path, server: SshServer) -> None:
    ProfileStore(config_dir / "hosts").save(
        profile_for(
            server,
            name="e2e",
            tmux_session=TMUX_SESSION,
            keepalive=KeepaliveSettings(interval=2.0, count_max=10),
        )
    )


def session_identity(server: NetnsSshServer) -> str:
    """tmux server PID, session id and creation time of the test's tmux session."""
    listing = server.tmux(
        "list-sessions", "-F", "#{session_name} #{pid}:#{session_id}:#{session_created}"
    ).stdout
    identities = dict(line.split(" ", 1) for line in listing.splitlines())
    assert TMUX_SESSION in identities, listing
    return identities[TMUX_SESSION]


@pytest.fixture
def app_pane(netns_sshd: NetnsSshServer, config_dir: Path) -> Iterator[TmuxPane]:
    save_profile(config_dir, netns_sshd)
    with tmux_pane(termkeep_command("e2e")) as pane:
        yield pane


def test_app_tab_survives_a_silent_drop(app_pane: TmuxPane, netns_sshd: NetnsSshServer) -> None:
    app_pane.wait_for("attached", timeout=ATTACH)
    app_pane.type("export TKV=kept; echo set$((40+2))")
    app_pane.wait_for("set42", timeout=ATTACH)
    before = session_identity(netns_sshd)

    with netns_sshd.blackhole():
        app_pane.wait_for("stalled", timeout=RECOVER, what="the stall in the status line")
        app_pane.type("echo got-$TKV-$((1+1))")  # typed during the outage: held, then sent

    app_pane.wait_for("got-kept-2", timeout=RECOVER, what="the held command's output")
    assert "attached" in app_pane.screen()
    assert session_identity(netns_sshd) == before

    app_pane.keys(PREFIX, "q")
    app_pane.wait_for("Quit", timeout=ATTACH, what="the quit confirmation")
    app_pane.keys("y")
    app_pane.wait_for("TERMKEEP-EXIT=0", timeout=ATTACH)
    assert session_identity(netns_sshd) == before  # quitting leaves the tmux session running


@pytest.mark.parametrize("stop", [signal.SIGSTOP, signal.SIGTSTP], ids=["SIGSTOP", "SIGTSTP"])
def test_app_keys_stay_in_order_after_the_app_is_stopped_and_continued(
    sshd: SshServer, config_dir: Path, tmp_path: Path, stop: signal.Signals
) -> None:
    """SIGSTOP then SIGCONT (the soak's laptop sleep; dash's ``fg`` sends SIGCONT to a job
    that was never stopped): afterwards the keyboard has one reader, as before. Textual 8.2
    started a second input thread on every SIGCONT; the two split what was typed between
    them, and a line reached the remote with its Enter in the middle of it. SIGTSTP
    (suspend: the terminal is given back) then SIGCONT must still resume the app."""
    save_profile(config_dir, sshd)
    marks = tmp_path / "marks"
    marks.touch()
    with tmux_pane(termkeep_command("e2e")) as pane:
        pane.wait_for("attached", timeout=ATTACH)
        (termkeep_pid,) = wait_until(
            lambda: procs.children_of(pane.pid()), timeout=ATTACH, what="termkeep's PID"
        )
        procs.signal_pids([termkeep_pid], stop)
        wait_until(lambda: procs.is_stopped(termkeep_pid), timeout=ATTACH, what="stopped")
        procs.signal_pids([termkeep_pid], signal.SIGCONT)
        wait_until(lambda: not procs.is_stopped(termkeep_pid), timeout=ATTACH, what="running")
        expected = [f"ORDER-{number}-{'x' * 40}" for number in range(1, 9)]
        for line in expected:
            pane.type(f"echo {line} | tee -a {marks}")

        def typed_lines() -> list[str]:
            return marks.read_text().splitlines()

        def every_line_ran() -> bool:
            return len(typed_lines()) >= len(expected) or "not found" in pane.screen()

        wait_until(every_line_ran, timeout=ATTACH, what=lambda: f"8 lines:\n{pane.screen()}")
        assert typed_lines() == expected, pane.screen()


def test_sigusr1_writes_where_the_app_waits_and_nothing_typed(
    sshd: SshServer, config_dir: Path, state_dir: Path
) -> None:
    """``kill -USR1`` (for a screen that stops while the app still runs) writes Textual's
    repaint state and every task's stack to a private file, keeps nothing typed or shown,
    and the app goes on as before."""
    save_profile(config_dir, sshd)
    with tmux_pane(termkeep_command("e2e")) as pane:
        pane.wait_for("attached", timeout=ATTACH)
        pane.type("echo typed-$((6*7))-secret")
        pane.wait_for("typed-42-secret", timeout=ATTACH)
        (termkeep_pid,) = wait_until(
            lambda: procs.children_of(pane.pid()), timeout=ATTACH, what="termkeep's PID"
        )
        dump = state_dir / "logs" / f"state-{termkeep_pid}.txt"
        procs.signal_pids([termkeep_pid], signal.SIGUSR1)
        text = wait_until(
            lambda: dump.read_text() if dump.exists() else None, timeout=ATTACH, what="the dump"
        )
        assert dump.stat().st_mode & 0o777 == 0o600
        assert "batch count: 0" in text
        assert re.search(r"screen \w+: current=True update timer active=\w+", text), text
        assert re.search(r"^task \S+ ", text, re.MULTILINE), text
        assert re.search(r"^thread MainThread", text, re.MULTILINE), text
        assert "secret" not in text
        # Each typed character came in as a key, and the keys' count is all that is kept.
        assert re.search(r"^keys from the terminal: (\d+), the last", text, re.MULTILINE)
        assert re.search(r"^tab \S+: region=\(\d+, 0, \d+, 1\) glyph=● ", text, re.MULTILINE)
        # The app composed what the terminal shows (the status line's rtt may tick between).
        compared = rows_compared(text, pane.screen())
        assert compared.startswith("the terminal shows all 32 rows"), (compared, text)
        pane.type("echo still-$((40+2))")
        pane.wait_for("still-42", timeout=ATTACH, what="the app after the dump")


def test_headless_attach_reattaches_after_a_server_abort(
    netns_sshd: NetnsSshServer, config_dir: Path
) -> None:
    save_profile(config_dir, netns_sshd)
    with tmux_pane(termkeep_command("attach", "e2e")) as pane:
        pane.type("export TKV=kept; echo set$((40+2))")
        pane.wait_for("set42", timeout=ATTACH)
        before = session_identity(netns_sshd)

        netns_sshd.kill_connections()
        pane.wait_for("[termkeep] connection lost", timeout=RECOVER)
        pane.type("clear; echo got-$TKV-$((1+1))")
        pane.wait_for("got-kept-2", timeout=RECOVER)
        assert session_identity(netns_sshd) == before

        pane.keys("Enter", "~", ".")
        pane.wait_for("TERMKEEP-EXIT=255", timeout=ATTACH, what="ssh's exit code for ~.")


def test_demo_shows_a_drop_and_the_reattach(config_dir: Path, state_dir: Path) -> None:
    with tmux_pane(termkeep_command("demo")) as pane:
        pane.wait_for("attached", timeout=ATTACH)
        pane.type("X=kept; echo hi$((1+1))")
        pane.wait_for("hi2", timeout=ATTACH)

        pane.keys(PREFIX, "d")
        pane.wait_for("Network cut", timeout=ATTACH)
        pane.wait_for("stalled", timeout=RECOVER)
        pane.keys(PREFIX, "d")  # the same keys bring the network back early
        # The relay held the bytes, so the old connection may win back ("recovered after")
        # or a fresh one may attach first ("reattached after"): both say how long it took.
        wait_until(
            lambda: re.search(r"(recovered|reattached) after \d", pane.screen()),
            timeout=RECOVER,
            what="the notice of the recovery with its duration",
        )
        pane.wait_for("attached", timeout=RECOVER)
        pane.type("echo still-$X")
        pane.wait_for("still-kept", timeout=RECOVER)

        pane.keys(PREFIX, "q")
        pane.wait_for("Quit", timeout=ATTACH, what="the quit confirmation")
        pane.keys("y")
        pane.wait_for("TERMKEEP-EXIT=0", timeout=ATTACH)
    # The demo's own config and state went to a temporary directory, never to these.
    assert not config_dir.exists()
    assert not state_dir.exists()


def _demo_leftovers(tmp: Path) -> dict[Path, list[int]]:
    """The demo directories in ``tmp``, each with the live processes started inside it
    (its tmux server and the shells in it carry TMUX_TMPDIR=<dir>/tmux)."""
    return {
        directory: procs.processes_with_environment({f"TMUX_TMPDIR={directory}/tmux".encode()})
        for directory in sorted(tmp.glob("termkeep-demo-*"))
    }


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A TMPDIR with a short path: a tmux socket path must fit in 108 bytes, and the demo's
    is ``$TMPDIR/termkeep-demo-XXXXXXXX/tmux/tmux-UID/default``."""
    directory = Path(tempfile.mkdtemp(prefix="tk-"))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def test_the_next_demo_removes_what_a_killed_demo_left(short_tmp: Path) -> None:
    tmp = short_tmp
    demo = f"TMPDIR={tmp} {termkeep_command('demo')}"
    with tmux_pane(demo) as pane:
        pane.wait_for("attached", timeout=ATTACH)
        (termkeep_pid,) = wait_until(
            lambda: procs.children_of(pane.pid()), timeout=ATTACH, what="the demo's PID"
        )
        procs.signal_pids([termkeep_pid], signal.SIGKILL)  # nothing can clean up after this
        pane.wait_for("TERMKEEP-EXIT=137", timeout=ATTACH, what="the demo killed")
    left = _demo_leftovers(tmp)
    assert len(left) == 2  # the server's (keys, tmux socket) and the config's
    server_dir = next(directory for directory in left if (directory / "client_key").exists())
    assert left[server_dir]  # its tmux server still runs
    try:
        with tmux_pane(demo) as pane:
            pane.wait_for("attached", timeout=ATTACH)
            now = _demo_leftovers(tmp)
            assert not set(now) & set(left)
            assert len(now) == 2
            pane.keys(PREFIX, "q")
            pane.wait_for("Quit", timeout=ATTACH, what="the quit confirmation")
            pane.keys("y")
            pane.wait_for("TERMKEEP-EXIT=0", timeout=ATTACH)
        procs.wait_gone(left[server_dir], timeout=ATTACH, what="the killed demo's tmux")
        assert _demo_leftovers(tmp) == {}
    finally:  # whatever failed: no demo tmux server outlives the test
        for pids in (left[server_dir], *_demo_leftovers(tmp).values()):
            procs.kill_tree(pids, what="demo tmux servers")


@pytest.mark.parametrize("how", ["terminal closed", "SIGTERM"])
def test_headless_attach_exits_when_told_or_when_its_terminal_goes(
    netns_sshd: NetnsSshServer, config_dir: Path, how: str
) -> None:
    save_profile(config_dir, netns_sshd)
    with tmux_pane(termkeep_command("attach", "e2e")) as pane:
        pane.type("echo up$((1+1))")
        pane.wait_for("up2", timeout=ATTACH)
        # The pane runs `sh -c "termkeep ...; echo ...; sleep"`: termkeep is its child.
        (termkeep_pid,) = wait_until(
            lambda: procs.children_of(pane.pid()), timeout=ATTACH, what="termkeep's PID"
        )
        if how == "SIGTERM":
            procs.signal_pids([termkeep_pid], signal.SIGTERM)
            pane.wait_for("TERMKEEP-EXIT=255", timeout=ATTACH, what="exit 255 after SIGTERM")
            assert "[termkeep] stopped by SIGTERM" in pane.screen()
        else:
            pane.hang_up()  # the window goes away
    procs.wait_gone([termkeep_pid], timeout=ATTACH, what="termkeep attach to exit")

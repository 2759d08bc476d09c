"""tmux command building: quoting that survives any login shell, names tmux keeps as is,
and the built commands run for real (sh, bash, dash and a private tmux server)."""

from __future__ import annotations

import os
import pty
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from termkeep.config.profile import PROFILE_NAME_MAX, TMUX_SESSION_DEFAULT_PREFIX
from termkeep.tmux import attach
from termkeep.tmux.names import SESSION_NAME_MAX, sanitize_session_name
from termkeep.tmux.shell import remote_command, shell_words
from tests.fixtures.waiting import wait_until

HOSTILE = [
    "plain",
    "with space",
    "it's",
    'say "hi"',
    "$(touch /tmp/termkeep-pwned)",
    "`touch /tmp/termkeep-pwned`",
    "a; touch /tmp/termkeep-pwned",
    "line\nbreak",
    "back\\slash",
    "bang!",
    "glob *?[x]",
    "x.y:z",
    "-n",
    "",
    "ünïcode ☃",
]
LOGIN_SHELLS = [shell for shell in ("sh", "bash", "dash") if shutil.which(shell)]


def run_as_login_shell(
    shell: str, command: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """What sshd does with a remote command: ``$SHELL -c COMMAND``."""
    return subprocess.run(
        [shell, "-c", command], capture_output=True, env=env, timeout=10, check=False
    )


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("termkeep-web", "termkeep-web"),
        ("termkeep-my.host", "termkeep-my_host"),
        ("a:b", "a_b"),
        ("with space", "with_space"),
        ("$(reboot)", "_reboot_"),
        ("a;b\nc", "a_b_c"),
        ("-n", "n"),
        ("--", "termkeep"),
        ("", "termkeep"),
        ("ünï", "_n_"),
        ("x" * 1000, "x" * SESSION_NAME_MAX),
    ],
)
def test_sanitize_session_name(raw: str, clean: str) -> None:
    assert sanitize_session_name(raw) == clean


@pytest.mark.parametrize("raw", HOSTILE)
def test_sanitized_names_are_safe_for_every_shell(raw: str) -> None:
    name = sanitize_session_name(raw)
    assert name
    assert set(name) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
    assert not name.startswith("-")
    remote_command(shell_words("tmux", "new-session", "-A", "-s", name))


@pytest.mark.parametrize("shell", LOGIN_SHELLS)
@pytest.mark.parametrize("word", HOSTILE)
def test_shell_words_reach_the_program_unchanged(shell: str, word: str) -> None:
    result = run_as_login_shell(shell, shell_words("printf", "%s|", word, "next"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == f"{word}|next|"
    assert not Path("/tmp/termkeep-pwned").exists()


@pytest.mark.parametrize("shell", LOGIN_SHELLS)
@pytest.mark.parametrize("word", [w for w in HOSTILE if not set(w) & set("\\!\n")])
def test_remote_command_survives_the_login_shell(shell: str, word: str) -> None:
    command = remote_command(shell_words("printf", "%s|", word))
    result = run_as_login_shell(shell, command)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == f"{word}|"
    assert not Path("/tmp/termkeep-pwned").exists()


@pytest.mark.parametrize("script", ["echo a\necho b", "echo \\\\", "echo hi!"])
def test_remote_command_refuses_what_fish_or_csh_would_reinterpret(script: str) -> None:
    with pytest.raises(ValueError, match="not portable"):
        remote_command(script)


@pytest.mark.parametrize(
    ("status", "alive", "detached", "ended"),
    [
        (0, True, True, False),  # `tmux detach`
        (0, False, False, True),  # the last shell exited, or kill-session
        (1, False, False, False),  # the tmux server died: lost, not ended
        (1, True, False, False),  # the client died but the session lives: lost
        (None, True, False, False),  # killed by a signal
    ],
)
def test_tmux_exit_verdicts(status: int | None, alive: bool, detached: bool, ended: bool) -> None:
    verdict = attach.TmuxExit(status, alive)
    assert (verdict.detached, verdict.ended) == (detached, ended)


@pytest.fixture
def tmux_env() -> Iterator[dict[str, str]]:
    """An environment whose tmux server lives in a private, short TMUX_TMPDIR."""
    tmpdir = tempfile.mkdtemp(prefix="tk-tmux-", dir="/tmp")
    env = {k: v for k, v in os.environ.items() if k != "TMUX"}
    env["TMUX_TMPDIR"] = tmpdir
    env["TERM"] = "xterm-256color"
    # The pane's shell is named here: without SHELL, tmux falls back to the account's login
    # shell (bash for root on CI), and the test would depend on who runs it.
    env["SHELL"] = "/bin/sh"
    yield env
    subprocess.run(["tmux", "kill-server"], env=env, capture_output=True, timeout=10, check=False)
    shutil.rmtree(tmpdir, ignore_errors=True)


def test_probe_and_attach_against_a_real_tmux(tmux_env: dict[str, str]) -> None:
    name = sanitize_session_name("termkeep-web.example.com: 'prod'")
    probe = attach.probe_command(name)
    absent = run_as_login_shell("bash", probe, tmux_env)
    assert absent.returncode == attach.ProbeResult.ABSENT
    assert absent.stdout == b""  # nothing reaches the screen

    child, master = pty.fork()
    if child == 0:  # pragma: no cover - the child execs the login shell at once
        os.execvpe("bash", ["bash", "-c", attach.attach_command(name)], tmux_env)  # noqa: S606
    try:
        wait_until(
            lambda: run_as_login_shell("bash", probe, tmux_env).returncode == 0,
            timeout=10,
            what="the session created by attach_command",
        )
        listing = subprocess.run(
            ["tmux", "list-sessions", "-F", "#{session_name}"],
            env=tmux_env,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        assert listing.stdout.split() == [name]
        # A session whose name merely starts with ours must not count as ours.
        prefix = run_as_login_shell("bash", attach.probe_command(name[:-3]), tmux_env)
        assert prefix.returncode == attach.ProbeResult.ABSENT
        subprocess.run(
            ["tmux", "detach-client", "-s", f"={name}"], env=tmux_env, timeout=10, check=True
        )
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert (
            run_as_login_shell("bash", attach.has_session_command(name), tmux_env).returncode == 0
        )
    finally:
        os.close(master)


def test_probe_reports_missing_tmux(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sh").symlink_to(shutil.which("sh") or "/bin/sh")
    result = run_as_login_shell(
        "/bin/sh", attach.probe_command("termkeep-x"), {"PATH": str(bin_dir)}
    )
    assert result.returncode == attach.ProbeResult.NO_TMUX


def test_no_tmux_notice_names_host_and_fix() -> None:
    notice = attach.no_tmux_notice("web1")
    assert "tmux is not installed on web1" in notice
    assert "will not survive a reconnect" in notice
    assert "Install tmux" in notice


def test_longest_profile_names_keep_distinct_tab_sessions() -> None:
    longest = "p" * PROFILE_NAME_MAX
    first = sanitize_session_name(f"{TMUX_SESSION_DEFAULT_PREFIX}-{longest}")
    second = sanitize_session_name(f"{TMUX_SESSION_DEFAULT_PREFIX}-{longest}-2")
    assert first != second
    assert second.endswith("-2")


NONCE = "0123abcd"


def _report_of(output: bytes) -> attach.AttachReport | None:
    scanner = attach.AttachReportScanner(NONCE)
    scanner.feed(output)
    return scanner.report


def _read_report(
    master: int, scanner: attach.AttachReportScanner | None = None
) -> tuple[attach.AttachReport | None, bytes]:
    """The report from a pty running the attach command, and the bytes shown around it."""
    scanner = scanner or attach.AttachReportScanner(NONCE)
    shown = bytearray()

    def reported() -> bool:
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            shown.extend(scanner.feed(os.read(master, 4096)))
        return scanner.report is not None

    wait_until(reported, timeout=10, what="the attach report")
    return scanner.report, bytes(shown)


def test_reporting_attach_reports_new_then_existed_against_a_real_tmux(
    tmux_env: dict[str, str],
) -> None:
    name = sanitize_session_name("termkeep-rep")
    command = attach.reporting_attach_command(name, NONCE)
    for expected in (attach.AttachReport.NEW, attach.AttachReport.EXISTED):
        child, master = pty.fork()
        if child == 0:  # pragma: no cover - the child execs the login shell at once
            os.execvpe("bash", ["bash", "-c", command], tmux_env)  # noqa: S606
        try:
            scanner = attach.AttachReportScanner(NONCE)
            report, shown = _read_report(master, scanner)
            assert report is expected
            assert b"termkeep-attach" not in shown
            if expected is attach.AttachReport.EXISTED:
                # What runs in front comes with the report (here the pane's shell).
                assert scanner.foreground == Path(tmux_env["SHELL"]).name
            wait_until(
                lambda: (
                    run_as_login_shell("bash", attach.probe_command(name), tmux_env).returncode == 0
                ),
                timeout=10,
                what="the session the attach command runs",
            )
            subprocess.run(
                ["tmux", "detach-client", "-s", f"={name}"], env=tmux_env, timeout=10, check=True
            )
            _, status = os.waitpid(child, 0)
            assert os.waitstatus_to_exitcode(status) == 0
        finally:
            os.close(master)


def test_reporting_attach_without_tmux_says_so_and_exits_127(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sh").symlink_to(shutil.which("sh") or "/bin/sh")
    command = attach.reporting_attach_command("termkeep-x", NONCE)
    result = run_as_login_shell("/bin/sh", command, {"PATH": str(bin_dir)})
    assert result.returncode == attach.ProbeResult.NO_TMUX
    assert _report_of(result.stdout) is attach.AttachReport.NO_TMUX


@pytest.mark.parametrize("name", HOSTILE)
@pytest.mark.parametrize("shell", LOGIN_SHELLS)
def test_reporting_attach_command_is_one_sh_word_list_in_any_shell(shell: str, name: str) -> None:
    # With no tmux on PATH the script reports and exits: what matters is that every login
    # shell hands sh the script unchanged, whatever the session name was.
    command = attach.reporting_attach_command(sanitize_session_name(name), NONCE)
    sh_dir = Path(tempfile.mkdtemp(prefix="tk-sh-"))
    try:
        (sh_dir / "sh").symlink_to(shutil.which("sh") or "/bin/sh")
        env = {"PATH": str(sh_dir)}
        result = subprocess.run(
            [shutil.which(shell) or shell, "-c", command],
            capture_output=True,
            env=env,
            timeout=10,
            check=False,
        )
    finally:
        shutil.rmtree(sh_dir)
    assert result.returncode == attach.ProbeResult.NO_TMUX, result.stderr
    assert not Path("/tmp/termkeep-pwned").exists()


def test_a_bad_nonce_is_refused() -> None:
    with pytest.raises(ValueError, match="hex digits"):
        attach.reporting_attach_command("s", "x'; reboot")


def test_the_scanner_finds_the_report_split_at_every_byte() -> None:
    stream = b"motd line\r\ntermkeep-attach:" + NONCE.encode() + b":existed\r\n\x1b[Hscreen"
    for cut in range(len(stream) + 1):
        scanner = attach.AttachReportScanner(NONCE)
        shown = scanner.feed(stream[:cut]) + scanner.feed(stream[cut:])
        assert scanner.report is attach.AttachReport.EXISTED
        assert shown == b"motd line\r\n\x1b[Hscreen"


def test_the_scanner_ignores_a_report_with_another_nonce_and_gives_up_at_its_limit() -> None:
    scanner = attach.AttachReportScanner(NONCE)
    assert scanner.feed(b"termkeep-attach:ffff:existed\r\n") == b""
    assert scanner.report is None
    with pytest.raises(ValueError, match="no attach report"):
        scanner.feed(b"x" * (attach.REPORT_LIMIT + 1))


def test_the_scanner_finds_its_report_after_one_with_another_nonce() -> None:
    scanner = attach.AttachReportScanner(NONCE)
    other = b"termkeep-attach:ffff:new\r\n"
    shown = scanner.feed(other + b"termkeep-attach:" + NONCE.encode() + b":existed\r\nscreen")
    assert scanner.report is attach.AttachReport.EXISTED
    assert shown == other + b"screen"


def test_the_scanner_refuses_an_unknown_report() -> None:
    scanner = attach.AttachReportScanner(NONCE)
    with pytest.raises(ValueError, match="bogus"):
        scanner.feed(b"termkeep-attach:" + NONCE.encode() + b":bogus\n")


def test_the_report_names_the_command_in_front_split_at_every_byte() -> None:
    stream = b"termkeep-attach:" + NONCE.encode() + b":existed:python3.13\r\n\x1b[Hscreen"
    for cut in range(len(stream) + 1):
        scanner = attach.AttachReportScanner(NONCE)
        shown = scanner.feed(stream[:cut]) + scanner.feed(stream[cut:])
        assert scanner.report is attach.AttachReport.EXISTED
        assert scanner.foreground == "python3.13"
        assert shown == b"\x1b[Hscreen"


def test_a_report_without_a_command_names_none() -> None:
    scanner = attach.AttachReportScanner(NONCE)
    scanner.feed(b"termkeep-attach:" + NONCE.encode() + b":new:\n")
    assert scanner.report is attach.AttachReport.NEW
    assert scanner.foreground is None


def test_the_command_in_front_is_asked_with_quoting_characters_replaced() -> None:
    command = attach.reporting_attach_command("s", NONCE)
    assert "#{s/[^A-Za-z0-9._+-]/_/:pane_current_command}" in command


def _tmux(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(["tmux", *args], env=env, capture_output=True, timeout=10, check=True)
    return done.stdout.decode().strip()


def _attach_then_detach(env: dict[str, str], name: str, limit: int) -> attach.AttachReport | None:
    """Run the reporting attach (as sshd would, in a pty), then detach its client."""
    command = attach.reporting_attach_command(name, NONCE, history_limit=limit)
    child, master = pty.fork()
    if child == 0:  # pragma: no cover - the child execs the login shell at once
        os.execvpe("bash", ["bash", "-c", command], env)  # noqa: S606
    try:
        report, _ = _read_report(master)
        subprocess.run(["tmux", "detach-client", "-s", f"={name}"], env=env, timeout=10, check=True)
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        os.close(master)
    return report


def _pane_limit(env: dict[str, str], target: str) -> int:
    return int(_tmux(env, "display-message", "-p", "-t", target, "#{history_limit}"))


def test_a_new_session_keeps_the_lines_asked_for_and_everything_else_stays(
    tmux_env: dict[str, str],
) -> None:
    # A running server with the user's own session, which has a limit of its own (the
    # current session: a format without a target would read its 7777 as the global).
    _tmux(tmux_env, "new-session", "-d", "-s", "mine")
    _tmux(tmux_env, "set-option", "-g", "history-limit", "3000")
    _tmux(tmux_env, "set-option", "-t", "=mine:", "history-limit", "7777")
    name = "termkeep-limit"
    assert _attach_then_detach(tmux_env, name, 10_000) is attach.AttachReport.NEW
    assert _pane_limit(tmux_env, f"={name}:") == 10_000  # the first pane too
    _tmux(tmux_env, "new-window", "-d", "-t", f"={name}:")
    limits = _tmux(tmux_env, "list-panes", "-s", "-t", f"={name}", "-F", "#{history_limit}")
    assert limits.split() == ["10000", "10000"]  # and the windows made later
    assert _tmux(tmux_env, "show-options", "-gv", "history-limit") == "3000"
    assert _tmux(tmux_env, "show-options", "-v", "-t", "=mine:", "history-limit") == "7777"
    assert _tmux(tmux_env, "show-options", "-gqv", "@termkeep-history-limit") == ""
    # A session that exists keeps the limit it has (tmux cannot resize a pane's history).
    assert _attach_then_detach(tmux_env, name, 20_000) is attach.AttachReport.EXISTED
    assert _pane_limit(tmux_env, f"={name}:") == 10_000
    assert _tmux(tmux_env, "show-options", "-gv", "history-limit") == "3000"


@pytest.mark.parametrize(("configured", "kept"), [(None, 10_000), (50_000, 50_000)])
def test_the_first_session_of_a_new_server_and_a_larger_configured_limit(
    tmux_env: dict[str, str], tmp_path: Path, configured: int | None, kept: int
) -> None:
    # No tmux server runs yet: the one the attach starts reads the user's configuration
    # first, and a larger limit there wins; the global ends as configured.
    home = tmp_path / "home"
    home.mkdir()
    if configured is not None:
        (home / ".tmux.conf").write_text(f"set-option -g history-limit {configured}\n")
    env = {**tmux_env, "HOME": str(home)}
    assert _attach_then_detach(env, "termkeep-fresh", 10_000) is attach.AttachReport.NEW
    assert _pane_limit(env, "=termkeep-fresh:") == kept
    assert _tmux(env, "show-options", "-gv", "history-limit") == str(configured or 2000)
    own = _tmux(env, "show-options", "-qv", "-t", "=termkeep-fresh:", "history-limit")
    assert own == ("" if configured else "10000")  # never set to lower the user's


def test_a_history_limit_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="outside"):
        attach.reporting_attach_command("s", NONCE, history_limit=-1)


def _pane_mode(env: dict[str, str], target: str) -> str:
    return _tmux(env, "display-message", "-p", "-t", target, "#{pane_in_mode}#{pane_mode}")


def _run_after_its_terminal_closed(env: dict[str, str], target: str, command: str) -> None:
    """``run-shell`` from a client in a pty, run a second later: by then that pty is gone,
    as a connection's terminal is when the connection died. Returns once it has run."""
    child, master = pty.fork()
    if child == 0:  # pragma: no cover - the child execs tmux at once
        argv = ["tmux", "run-shell", "-d", "1", "-t", target, command]
        os.execvpe("tmux", argv, env)  # noqa: S606
    time.sleep(0.3)  # the client has sent its command; the server holds it for the delay
    os.close(master)
    os.waitpid(child, 0)
    _tmux(env, "set-option", "-g", "@ran", "0")
    _tmux(env, "run-shell", "-d", "1", "-t", target, "tmux set-option -g @ran 1")
    wait_until(
        lambda: _tmux(env, "show-options", "-gv", "@ran") == "1",
        timeout=10,
        what="the delayed command run",
    )


def test_a_report_whose_terminal_is_gone_leaves_the_pane_as_it_was(
    tmux_env: dict[str, str],
) -> None:
    """The connection dies between the attach and its report: the report cannot be written,
    and tmux would show "'...' returned 2" in the pane, in view mode, where the keys typed
    after the reconnect would then go."""
    _tmux(tmux_env, "new-session", "-d", "-s", "gone", "sleep 600")
    target = "=gone:"
    # What the report was before: its write fails aloud, and the pane is left in view mode.
    _run_after_its_terminal_closed(tmux_env, target, "echo report >#{client_tty}")
    assert _pane_mode(tmux_env, target) == "1view-mode"
    _tmux(tmux_env, "send-keys", "-t", target, "-X", "cancel")

    report = attach.client_report(NONCE, attach.AttachReport.EXISTED)
    _run_after_its_terminal_closed(tmux_env, target, report)
    _tmux(tmux_env, "run-shell", "-t", target, report)  # a client with no terminal at all
    assert _pane_mode(tmux_env, target) == "0"

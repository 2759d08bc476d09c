"""The command line, run in-process through ``main(argv)`` and as real processes."""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from termkeep import __version__
from termkeep.cli import main
from termkeep.config.store import ProfileStore
from tests.fixtures.isolation import Isolation

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
CONSOLE_SCRIPT = Path(sys.executable).parent / "termkeep"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(err: str, message: str) -> None:
    assert err.count("\n") == 1, err
    assert err.startswith("termkeep: error: ")
    assert message in err
    assert "Traceback" not in err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--version") == (0, f"termkeep {__version__}\n", "")


def test_locate_all_and_one(capsys: pytest.CaptureFixture[str], config_dir: Path) -> None:
    code, out, _ = run(capsys, "locate")
    assert code == 0
    assert out.splitlines() == [
        f"config   {config_dir}",
        f"hosts    {config_dir / 'hosts'}",
        f"themes   {config_dir / 'themes'}",
        f"state    {config_dir.parent / 'state'}",
        f"logs     {config_dir.parent / 'state' / 'logs'}",
        f"history  {config_dir.parent / 'state' / 'connections.jsonl'}",
    ]
    assert run(capsys, "locate", "hosts") == (0, f"{config_dir / 'hosts'}\n", "")


def test_locate_unknown_location_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "locate", "keys")
    assert code == 2
    assert_one_line_error(err, "argument what: invalid choice: 'keys'")


def test_add_list_show_rm(capsys: pytest.CaptureFixture[str], config_dir: Path) -> None:
    code, out, _ = run(
        capsys,
        *("hosts", "add", "web", "--host", "web.example.org", "--port", "2222"),
        *("--user", "alice", "--identity", "~/.ssh/a", "--identity", "~/.ssh/b"),
        *("--known-hosts", "~/.ssh/kh", "--jump", "ops@bastion", "--keepalive", "10"),
        *("--keepalive-count", "4", "--tmux-session", "work"),
    )
    assert (code, out) == (
        0,
        f"saved web: alice@web.example.org:2222 ({config_dir}/hosts/web.toml)\n",
    )
    profile = ProfileStore().load("web")
    assert profile.identity_files == ("~/.ssh/a", "~/.ssh/b")
    assert (profile.known_hosts_file, profile.jump) == ("~/.ssh/kh", "ops@bastion")
    assert (profile.keepalive.interval, profile.keepalive.count_max) == (10.0, 4)
    assert run(capsys, "hosts", "add", "plain", "--host", "10.0.0.9", "--no-tmux")[0] == 0

    code, out, err = run(capsys, "hosts", "list")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "NAME   DESTINATION                 KEEPALIVE  TMUX",
        "plain  10.0.0.9:22                 5s x3      off",
        "web    alice@web.example.org:2222  10s x4     work",
    ]

    code, out, _ = run(capsys, "hosts", "show", "web")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"# profile 'web': {config_dir}/hosts/web.toml"
    assert 'host = "web.example.org"' in lines
    assert 'term = "xterm-256color"  # default' in lines
    assert "# theme: unset (default)" in lines
    assert "[keepalive]" in lines
    assert "interval = 10.0" in lines
    assert "idle = 10  # default" in lines

    assert run(capsys, "hosts", "rm", "web") == (
        0,
        f"removed web ({config_dir}/hosts/web.toml)\n",
        "",
    )
    assert ProfileStore().names() == ["plain"]


def test_empty_list_says_how_to_add(capsys: pytest.CaptureFixture[str], config_dir: Path) -> None:
    assert run(capsys, "hosts", "list") == (
        0,
        "no saved profiles; add one with 'termkeep hosts add NAME --host HOST'\n",
        "",
    )


def test_add_refuses_to_overwrite_without_force(
    capsys: pytest.CaptureFixture[str], config_dir: Path
) -> None:
    assert run(capsys, "hosts", "add", "web", "--host", "a.example.org")[0] == 0
    path = config_dir / "hosts" / "web.toml"
    path.write_text(path.read_text() + "# my note\n")

    code, _, err = run(capsys, "hosts", "add", "web", "--host", "b.example.org")
    assert code == 1
    assert_one_line_error(err, "profile 'web' already exists; use --force to replace it")
    assert ProfileStore().load("web").host == "a.example.org"

    assert run(capsys, "hosts", "add", "web", "--host", "b.example.org", "--force")[0] == 0
    assert ProfileStore().load("web").host == "b.example.org"
    assert path.read_text().endswith("# my note\n")  # the user's comment survives


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["hosts", "add", "web"], 2, "the following arguments are required: --host"),
        (["hosts", "add", "web", "--host", "h", "--port", "0"], 2, "argument --port: 0 is out"),
        (["hosts", "add", "web", "--host", "h", "--port", "ssh"], 2, "'ssh' is not an integer"),
        (["hosts", "add", "web", "--host", "h", "--keepalive", "-1"], 2, "must be from 0 to 3600"),
        (
            ["hosts", "add", "web", "--host", "h", "--tmux-session", "s", "--no-tmux"],
            2,
            "argument --no-tmux: not allowed with argument --tmux-session",
        ),
        (
            ["hosts", "add", "web", "--host", "h", "-L", "8080:db"],
            2,
            "argument -L: '8080:db': -L takes [bind_address:]port:host:hostport",
        ),
        (["hosts", "add", "web", "--host", "h", "-D", "99999"], 2, "port 99999 is out of range"),
        (
            ["hosts", "add", "web", "--host", "h", "-D", "1080", "-L", "1080:db:1"],
            1,
            "-D 1080 and -L 1080:db:1 both listen on localhost:1080",
        ),
        (["hosts", "add", "../x", "--host", "h"], 1, "profile name '../x' must not contain '/'"),
        (["hosts", "add", "web", "--host", "two words"], 1, "'host' must not contain spaces"),
        (["hosts", "show", "nope"], 1, "no profile named 'nope'"),
        (["hosts", "rm", "nope"], 1, "no profile named 'nope'"),
        (["hosts"], 2, "the following arguments are required: COMMAND"),
        (["hosts", "frobnicate"], 2, "invalid choice: 'frobnicate'"),
        # Not a profile, an ssh_config Host or [user@]host[:port]: the app does not start.
        (["no/such"], 1, "'no/such' is not a saved profile, an ssh_config Host"),
        (["attach", "no/such"], 1, "'no/such' is not a saved profile, an ssh_config Host"),
        (["attach", "box:99999"], 1, "the port must be a number from 1 to 65535"),
        (["demo", "extra"], 2, "unrecognized arguments: extra"),
        (["demo", "--rtt", "slow"], 2, "'slow' is not a number of milliseconds"),
        (["demo", "--rtt", "-5"], 2, "must be from 0 to 10000 ms, not -5"),
        (["demo", "--predict", "maybe"], 2, "invalid choice: 'maybe'"),
    ],
)
def test_bad_input_is_one_line_and_an_exit_code(
    capsys: pytest.CaptureFixture[str], config_dir: Path, argv: list[str], code: int, message: str
) -> None:
    got, out, err = run(capsys, *argv)
    assert got == code
    assert out == ""
    assert_one_line_error(err, message)
    assert not (config_dir / "hosts" / "web.toml").exists()


def test_list_shows_good_profiles_and_reports_bad_files(
    capsys: pytest.CaptureFixture[str], config_dir: Path
) -> None:
    assert run(capsys, "hosts", "add", "web", "--host", "web.example.org")[0] == 0
    broken = config_dir / "hosts" / "broken.toml"
    broken.write_text("host = \n")

    code, out, err = run(capsys, "hosts", "list")

    assert code == 1
    assert "web.example.org:22" in out
    assert (
        err
        == f"termkeep: error: {broken}:1: broken TOML at column 8: Invalid value; fix this line\n"
    )
    assert broken.read_text() == "host = \n"


def test_import_ssh_config_then_again_without_overwrite(
    capsys: pytest.CaptureFixture[str],
    config_dir: Path,
    isolation: Isolation,
) -> None:
    home = isolation.home
    shutil.copytree(DATA_DIR / "ssh_config", isolation.ssh_dir)

    code, out, _ = run(capsys, "hosts", "import-ssh-config")
    assert code == 0
    lines = out.splitlines()
    assert "imported db: 10.0.0.5:2222" in lines
    assert "imported escape (from '../escape'): escape.example.org:22" in lines
    assert "  note: UserKnownHostsFile /dev/null ignored: termkeep always checks host keys" in lines
    assert "skipped '*': wildcard pattern: its settings apply to the hosts it matches" in lines
    assert lines[-1] == f"8 imported, 4 skipped, from {home}/.ssh/config"

    code, out, _ = run(capsys, "hosts", "import-ssh-config", str(home / ".ssh" / "config"))
    assert code == 0
    assert "skipped 'db': profile 'db' already exists; use --overwrite to replace it" in out
    assert out.splitlines()[-1].startswith("0 imported, 12 skipped")

    code, out, _ = run(capsys, "hosts", "import-ssh-config", "--overwrite")
    assert out.splitlines()[-1].startswith("8 imported, 4 skipped")


def test_import_ssh_config_errors(
    capsys: pytest.CaptureFixture[str], config_dir: Path, tmp_path: Path
) -> None:
    code, _, err = run(capsys, "hosts", "import-ssh-config", str(tmp_path / "none"))
    assert code == 1
    assert_one_line_error(err, f"no ssh config at {tmp_path / 'none'}")
    code, _, err = run(
        capsys, "hosts", "import-ssh-config", str(DATA_DIR / "ssh_config" / "broken_config")
    )
    assert code == 1
    assert_one_line_error(err, "line 3: Invalid Port integer value: twenty-two")


def test_import_putty_from_dir_and_from_puttydir(
    capsys: pytest.CaptureFixture[str], config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(capsys, "hosts", "import-putty", str(DATA_DIR / "putty"))
    assert code == 0
    lines = out.splitlines()
    assert "imported web-prod-2 (from 'web/prod'): deploy@prod.example.org:22" in lines
    assert "skipped 'old/router': protocol 'telnet', not SSH" in lines
    assert any(line.startswith("  note: key /home/alice/keys/files.ppk") for line in lines)
    assert any(
        line.startswith("  note: agent forwarding is on, as in PuTTY (AgentFwd=1)")
        for line in lines
    )
    assert lines[-1] == f"7 imported, 6 skipped, from {DATA_DIR / 'putty' / 'sessions'}"

    monkeypatch.setenv("PUTTYDIR", str(DATA_DIR / "putty"))
    code, out, _ = run(capsys, "hosts", "import-putty", "--overwrite")
    assert out.splitlines()[-1] == f"7 imported, 6 skipped, from {DATA_DIR / 'putty' / 'sessions'}"


def test_import_putty_missing_dir(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "hosts", "import-putty", str(tmp_path / "none"))
    assert code == 1
    assert_one_line_error(err, "no PuTTY sessions directory at")


# --- as real processes ------------------------------------------------------------------


def run_process(
    argv: list[str], *, file_size_limit: int | None = None
) -> subprocess.CompletedProcess[str]:
    """``argv`` as a child of this test (with its config dir), its output captured."""

    def limit_file_size() -> None:
        if file_size_limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, resource.RLIM_INFINITY))

    return subprocess.run(
        argv,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        preexec_fn=limit_file_size,  # only setrlimit: safe between fork and exec
    )


@pytest.mark.parametrize(
    "launcher",
    [[str(CONSOLE_SCRIPT)], [sys.executable, "-m", "termkeep"]],
    ids=["script", "module"],
)
def test_real_process_bad_input_has_no_traceback(launcher: list[str], config_dir: Path) -> None:
    usage = run_process([*launcher, "hosts", "add", "web", "--host", "h", "--port", "x"])
    assert usage.returncode == 2
    assert_one_line_error(usage.stderr, "argument --port: 'x' is not an integer")

    missing = run_process([*launcher, "hosts", "show", "web"])
    assert missing.returncode == 1
    assert_one_line_error(missing.stderr, "no profile named 'web'")

    ok = run_process([*launcher, "hosts", "add", "web", "--host", "h.example.org"])
    assert (ok.returncode, ok.stderr) == (0, "")
    assert ProfileStore(config_dir / "hosts").load("web").host == "h.example.org"


def test_real_process_write_failure_is_one_line_and_keeps_the_file(config_dir: Path) -> None:
    assert (
        run_process([str(CONSOLE_SCRIPT), "hosts", "add", "web", "--host", "a.org"]).returncode == 0
    )
    path = config_dir / "hosts" / "web.toml"
    before = path.read_bytes()

    failed = run_process(
        [str(CONSOLE_SCRIPT), "hosts", "add", "web", "--host", "b.org", "--force"],
        file_size_limit=16,  # the kernel refuses to grow any file past 16 bytes (EFBIG)
    )

    assert failed.returncode == 1
    assert_one_line_error(
        failed.stderr, f"cannot write {path}: File too large; the previous file is unchanged"
    )
    assert path.read_bytes() == before
    assert sorted(entry.name for entry in path.parent.iterdir()) == ["web.toml"]


def test_add_and_show_forwards_in_ssh_syntax(
    capsys: pytest.CaptureFixture[str], config_dir: Path
) -> None:
    code, _, err = run(
        capsys,
        *("hosts", "add", "db", "--host", "h", "-L", "5432:db.internal:5432"),
        *("-R", "[::1]:9000:localhost:22", "-D", "1080", "-L", "127.0.0.1:8080:web:80"),
    )
    assert (code, err) == (0, "")
    flags = [forward.flag for forward in ProfileStore().load("db").forwards]
    # the order given, across the three flags, is kept
    assert flags == [
        "-L 5432:db.internal:5432",
        "-R [::1]:9000:localhost:22",
        "-D 1080",
        "-L 127.0.0.1:8080:web:80",
    ]
    code, out, _ = run(capsys, "hosts", "show", "db")
    lines = out.splitlines()
    assert code == 0
    assert "# forwards, as ssh flags: " + " ".join(flags) in lines
    assert lines.count("[[forwards]]") == 4
    assert run(capsys, "hosts", "add", "none", "--host", "h")[0] == 0
    assert run(capsys, "hosts", "show", "none")[1].splitlines()[-1] == (
        "# forwards: none (add with -L, -R, -D on 'termkeep hosts add')"
    )


def test_host_key_options_are_added_and_shown(
    capsys: pytest.CaptureFixture[str], config_dir: Path
) -> None:
    code, _, _ = run(
        capsys,
        *("hosts", "add", "box", "--host", "box.example.org"),
        *("--user-known-hosts", "/k/one", "--user-known-hosts", "/k/two"),
        *("--global-known-hosts", "/etc/kh", "--strict-host-key-checking", "accept-new"),
        *("--host-key-alias", "castle"),
    )
    assert code == 0
    profile = ProfileStore().load("box")
    assert profile.user_known_hosts_files == ("/k/one", "/k/two")
    assert profile.global_known_hosts_files == ("/etc/kh",)
    assert (profile.strict_host_key_checking, profile.host_key_alias) == ("accept-new", "castle")
    code, out, _ = run(capsys, "hosts", "show", "box")
    assert code == 0
    for shown in (
        'user_known_hosts_files = ["/k/one", "/k/two"]',
        'global_known_hosts_files = ["/etc/kh"]',
        'strict_host_key_checking = "accept-new"',
        'host_key_alias = "castle"',
    ):
        assert shown in out.splitlines()
    code, _, err = run(
        capsys, "hosts", "add", "bad", "--host", "x", "--strict-host-key-checking", "maybe"
    )
    assert code == 2
    assert_one_line_error(err, "argument --strict-host-key-checking: invalid choice: 'maybe'")

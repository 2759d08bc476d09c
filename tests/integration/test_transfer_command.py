"""`termkeep put` and `termkeep get` as real processes against the real sshd (SFTP by
OpenSSH's sftp-server): files both ways by key, modes and partial files, the overwrite
refusal and its two ways out, hostile remote names, and each bad case as one line with
nothing left under the final name."""

from __future__ import annotations

import hashlib
import os
import pwd
import signal
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from termkeep.config.store import ProfileStore
from termkeep.transfers.local import current_umask
from termkeep.transfers.names import PART_SUFFIX
from termkeep.transport.remote_files import NO_SFTP
from tests.fixtures.netns import NetnsSshServer
from tests.fixtures.profiles import profile_for
from tests.fixtures.pty_process import TERMKEEP, termkeep_env
from tests.fixtures.sftp import tiny_disk_sftp_server, with_sftp
from tests.fixtures.sshd import SshServer
from tests.fixtures.waiting import wait_until

RUN_WITHIN = 60.0
EXIT_FILE_FAILED = 1
EXIT_SIGNALLED = 255
"""ssh's exit code when a signal ends it."""


@pytest.fixture
def sftp_sshd(sshd: SshServer) -> SshServer:
    return with_sftp(sshd)


@pytest.fixture
def env() -> dict[str, str]:
    """The test's isolated places (the autouse isolation), as the termkeep it runs sees them."""
    return termkeep_env()


def save_profile(_env: dict[str, str], server: SshServer, name: str = "box") -> None:
    ProfileStore().save(profile_for(server, name=name))


def termkeep(
    env: dict[str, str], *args: str, prefix: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*prefix, str(TERMKEEP), *args],
        capture_output=True,
        text=True,
        errors="surrogateescape",
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=RUN_WITHIN,
        check=False,
    )


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def names(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def leftovers(directory: Path) -> list[str]:
    return [name for name in names(directory) if name.endswith(PART_SUFFIX)]


@pytest.fixture
def dirs(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A local and a "remote" directory (the server runs on this machine)."""
    local, remote = tmp_path / "local", tmp_path / "remote"
    local.mkdir()
    remote.mkdir()
    yield local, remote
    for directory in (local, remote):  # an immutable directory would defeat tmp_path cleanup
        subprocess.run(["chattr", "-i", str(directory)], check=False, capture_output=True)


def test_put_then_get_by_key_with_modes_checks_and_no_partials(
    sftp_sshd: SshServer, env: dict[str, str], dirs: tuple[Path, Path]
) -> None:
    local, remote = dirs
    save_profile(env, sftp_sshd)
    source = local / "report.bin"
    source.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    source.chmod(0o640)

    sent = termkeep(env, "put", "box", str(source), "--to", str(remote))

    assert sent.returncode == 0, sent.stderr
    assert digest(remote / "report.bin") == digest(source)
    assert stat.S_IMODE((remote / "report.bin").stat().st_mode) == 0o640  # the source's mode
    assert "checked: SHA-256 of both ends" in sent.stdout
    assert len(sent.stdout.splitlines()) == 1  # one line per file
    assert leftovers(remote) == []

    back = local / "back"
    back.mkdir()
    fetched = termkeep(env, "get", "box", str(remote / "report.bin"), "--to", str(back))

    assert fetched.returncode == 0, fetched.stderr
    assert digest(back / "report.bin") == digest(source)
    assert stat.S_IMODE((back / "report.bin").stat().st_mode) == 0o666 & ~current_umask()
    assert "checked: SHA-256 of both ends" in fetched.stdout
    assert leftovers(back) == []


def test_put_defaults_to_the_login_directory(
    sftp_sshd: SshServer, env: dict[str, str], dirs: tuple[Path, Path]
) -> None:
    local, _ = dirs
    save_profile(env, sftp_sshd)
    source = local / f"tk-login-dir-{os.getpid()}.txt"
    source.write_text("to the login directory\n")
    # The server's user is us; its login directory is the passwd entry's, not the test's HOME.
    landed = Path(pwd.getpwuid(os.getuid()).pw_dir) / source.name
    try:
        result = termkeep(env, "put", "box", str(source))
        assert result.returncode == 0, result.stderr
        assert landed.read_text() == "to the login directory\n"
    finally:
        landed.unlink(missing_ok=True)


def test_an_existing_file_is_refused_unless_overwrite_or_keep_both(
    sftp_sshd: SshServer, env: dict[str, str], dirs: tuple[Path, Path]
) -> None:
    local, remote = dirs
    save_profile(env, sftp_sshd)
    source = local / "notes.txt"
    source.write_text("new\n")
    (remote / "notes.txt").write_text("precious\n")

    refused = termkeep(env, "put", "box", str(source), "--to", str(remote))

    assert refused.returncode == EXIT_FILE_FAILED
    assert (remote / "notes.txt").read_text() == "precious\n"
    lines = refused.stderr.splitlines()
    assert any("notes.txt" in line and "already exists" in line for line in lines), lines
    assert any("--overwrite" in line and "--keep-both" in line for line in lines), lines
    assert leftovers(remote) == []

    kept = termkeep(env, "put", "box", str(source), "--to", str(remote), "--keep-both")
    assert kept.returncode == 0, kept.stderr
    assert (remote / "notes.txt").read_text() == "precious\n"
    assert (remote / "notes (1).txt").read_text() == "new\n"

    replaced = termkeep(env, "put", "box", str(source), "--to", str(remote), "--overwrite")
    assert replaced.returncode == 0, replaced.stderr
    assert (remote / "notes.txt").read_text() == "new\n"

    (local / "notes.txt").write_text("mine\n")
    refused_here = termkeep(env, "get", "box", str(remote / "notes.txt"), "--to", str(local))
    assert refused_here.returncode == EXIT_FILE_FAILED
    assert (local / "notes.txt").read_text() == "mine\n"
    assert "already exists on this computer" in refused_here.stderr
    assert leftovers(local) == []


def test_hostile_remote_names_arrive_under_safe_names(
    sftp_sshd: SshServer, env: dict[str, str], dirs: tuple[Path, Path]
) -> None:
    local, remote = dirs
    save_profile(env, sftp_sshd)
    hostile = {
        "clear\x1b[2J\x1b]2;pwned\x07title": "clear_[2J_]2;pwned_title",
        "two\nlines": "two_lines",
        "..sneaky": "__sneaky",
        "gpj\u202eexe.txt": "gpj_exe.txt",
    }
    for name in hostile:
        (remote / name).write_text(name)

    result = termkeep(
        env, "get", "box", *(str(remote / name) for name in hostile), "--to", str(local)
    )

    assert result.returncode == 0, result.stderr
    assert names(local) == sorted(hostile.values())
    for name, safe in hostile.items():
        assert (local / safe).read_text() == name
    assert "\x1b" not in result.stdout + result.stderr  # names are shown, not obeyed


def test_a_server_without_sftp_says_so_in_one_line(
    sshd: SshServer, env: dict[str, str], dirs: tuple[Path, Path]
) -> None:
    local, remote = dirs
    save_profile(env, sshd)
    source = local / "a.txt"
    source.write_text("a\n")

    result = termkeep(env, "put", "box", str(source), "--to", str(remote))

    assert result.returncode == EXIT_FILE_FAILED
    assert [line for line in result.stderr.splitlines() if NO_SFTP in line] != []
    assert "Traceback" not in result.stderr
    assert names(remote) == []


def test_permission_denied_on_either_end_is_one_line(
    sftp_sshd: SshServer, env: dict[str, str], dirs: tuple[Path, Path]
) -> None:
    """Tests run as root, which file modes do not stop: an immutable directory does."""
    local, remote = dirs
    save_profile(env, sftp_sshd)
    source = local / "a.txt"
    source.write_text("a\n")
    (remote / "r.txt").write_text("r\n")
    subprocess.run(["chattr", "+i", str(remote), str(local)], check=True)

    up = termkeep(env, "put", "box", str(source), "--to", str(remote))
    down = termkeep(env, "get", "box", str(remote / "r.txt"), "--to", str(local))

    assert up.returncode == EXIT_FILE_FAILED
    assert "a.txt: permission denied on box: " in up.stderr
    assert down.returncode == EXIT_FILE_FAILED
    assert down.stderr == f"termkeep: error: {local}: permission denied\n"  # before connecting
    assert names(remote) == ["r.txt"]
    assert names(local) == ["a.txt"]


def test_a_remote_path_that_vanished_is_one_line(
    sftp_sshd: SshServer, env: dict[str, str], dirs: tuple[Path, Path]
) -> None:
    local, remote = dirs
    save_profile(env, sftp_sshd)

    result = termkeep(env, "get", "box", str(remote / "gone.log"), "--to", str(local))

    assert result.returncode == EXIT_FILE_FAILED
    assert f"no such file or directory on box: {remote / 'gone.log'}" in result.stderr
    assert names(local) == []


TINY = "1m"


def test_a_full_disk_on_the_server_is_said_and_leaves_nothing_final(
    sshd: SshServer, env: dict[str, str], dirs: tuple[Path, Path]
) -> None:
    """The server's sftp-server runs with a 1 MiB file system on the target directory."""
    local, remote = dirs
    with_sftp(sshd, tiny_disk_sftp_server(sshd, remote))
    save_profile(env, sshd)
    source = local / "big.bin"
    source.write_bytes(os.urandom(4 * 1024 * 1024))

    result = termkeep(env, "put", "box", str(source), "--to", str(remote))

    assert result.returncode == EXIT_FILE_FAILED
    assert f"big.bin: no space left on box in {remote}" in result.stderr
    assert len([line for line in result.stderr.splitlines() if "big.bin" in line]) == 1
    assert names(remote) == []  # sftp-server's tmpfs is gone; and nothing landed here


def test_a_full_local_disk_is_said_and_leaves_nothing_final(
    sftp_sshd: SshServer, env: dict[str, str], dirs: tuple[Path, Path]
) -> None:
    """``termkeep get`` runs with a 1 MiB file system on its target directory."""
    local, remote = dirs
    save_profile(env, sftp_sshd)
    (remote / "big.bin").write_bytes(os.urandom(4 * 1024 * 1024))
    inner = f"{TERMKEEP} get box {remote / 'big.bin'} --to {local}; ls -A {local}"

    result = subprocess.run(
        ["unshare", "-m", "sh", "-c", f"mount -t tmpfs -o size={TINY} full {local} && {inner}"],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=RUN_WITHIN,
        check=False,
    )

    assert f"big.bin: no space left on this computer: {local / 'big.bin'}" in result.stderr
    assert result.stdout.strip() == ""  # the ls: no partial, nothing under the final name


def test_get_refuses_a_missing_local_directory_before_connecting(
    env: dict[str, str], tmp_path: Path
) -> None:
    result = termkeep(env, "get", "nowhere.invalid", "/etc/hostname", "--to", str(tmp_path / "no"))
    assert result.returncode == EXIT_FILE_FAILED
    assert result.stderr.strip() == f"termkeep: error: {tmp_path / 'no'} is not a directory"


def test_put_refuses_a_missing_local_file_before_connecting(
    env: dict[str, str], tmp_path: Path
) -> None:
    result = termkeep(env, "put", "nowhere.invalid", str(tmp_path / "nothing.txt"))
    assert result.returncode == EXIT_FILE_FAILED
    assert result.stderr.strip() == f"termkeep: error: {tmp_path / 'nothing.txt'}: no such file"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_ends_put_like_attach_and_removes_its_partial(
    netns_sshd: NetnsSshServer, env: dict[str, str], dirs: tuple[Path, Path], signum: int
) -> None:
    """put runs under the same HeadlessRun as attach and tunnel: a stop signal mid-file ends
    it with ssh's 255 and the line saying why, and the partial file goes (no run resumes
    it)."""
    local, remote = dirs
    with_sftp(netns_sshd)
    save_profile(env, netns_sshd)
    source = local / "big.bin"
    source.write_bytes(os.urandom(64 * 1024 * 1024))
    with netns_sshd.delay(50):  # 100 ms round trips: the file takes seconds, not one
        process = subprocess.Popen(
            [str(TERMKEEP), "put", "box", str(source), "--to", str(remote)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=env,
            text=True,
        )
        try:
            wait_until(lambda: leftovers(remote), timeout=RUN_WITHIN, what="the partial file")
            process.send_signal(signum)
            _out, err = process.communicate(timeout=RUN_WITHIN)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=RUN_WITHIN)
    assert process.returncode == EXIT_SIGNALLED, err
    assert f"[termkeep] stopped by {signal.Signals(signum).name}" in err
    assert names(remote) == []  # neither the partial nor a final file

"""The demo's SSH server and fault relay, exercised with the real OpenSSH client."""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
import subprocess
from pathlib import Path

import asyncssh
import pytest

from termkeep.transport.demo_server import (
    DemoServer,
    DemoServerInfo,
    process_identity,
    remove_stale_demo_dirs,
)
from termkeep.transport.relay import FaultRelay
from tests.fixtures.requirements import require
from tests.fixtures.waiting import wait_until

pytestmark = pytest.mark.skipif(shutil.which("ssh") is None, reason="needs the OpenSSH client")


def _ssh_command(info: DemoServerInfo, key: Path, port: int, *extra: str) -> list[str]:
    return [
        "ssh",
        "-F",
        "/dev/null",
        "-i",
        str(key),
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        f"UserKnownHostsFile={info.known_hosts}",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        f"HostKeyAlias=[127.0.0.1]:{info.port}",
        "-p",
        str(port),
        *extra,
        info.host,
    ]


async def _run(argv: list[str], remote_command: str) -> subprocess.CompletedProcess[bytes]:
    process = await asyncio.create_subprocess_exec(
        *argv,
        remote_command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=20)
    return subprocess.CompletedProcess(argv, process.returncode or 0, out, err)


async def test_generated_key_runs_commands_and_exit_status_passes_through() -> None:
    async with DemoServer() as info:
        result = await _run(_ssh_command(info, info.client_key, info.port), "echo hello; exit 7")
    assert result.stdout == b"hello\n"
    assert result.returncode == 7


async def test_a_plain_command_reads_its_input_as_it_streams() -> None:
    # The scrollback view keeps a helper shell that answers requests on its stdin; on the demo
    # it must get its input as it comes and answer before its input ends.
    async with DemoServer() as info:
        process = await asyncio.create_subprocess_exec(
            *_ssh_command(info, info.client_key, info.port),
            "while read -r line; do echo got-$line; done",
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert process.stdin is not None
        assert process.stdout is not None
        try:
            process.stdin.write(b"one\n")
            first = await asyncio.wait_for(process.stdout.readline(), timeout=20)
            process.stdin.write(b"two\n")
            second = await asyncio.wait_for(process.stdout.readline(), timeout=20)
            process.stdin.close()
            await asyncio.wait_for(process.wait(), timeout=20)
        finally:
            if process.returncode is None:  # a failed wait: the server must not wait for it
                process.kill()
                await process.wait()
    assert (first, second) == (b"got-one\n", b"got-two\n")
    assert process.returncode == 0


async def test_pty_command_gets_a_terminal_of_the_requested_size() -> None:
    async with DemoServer() as info:
        argv = _ssh_command(info, info.client_key, info.port, "-tt")
        result = await _run(argv, "tty; stty size")
    lines = result.stdout.decode().split()
    assert lines[0].startswith("/dev/pts/")
    assert lines[1:] == ["24", "80"]


async def test_any_other_key_and_password_auth_are_refused(tmp_path: Path) -> None:
    stranger = tmp_path / "stranger"
    asyncssh.generate_private_key("ssh-ed25519").write_private_key(str(stranger))
    stranger.chmod(0o600)
    async with DemoServer() as info:
        by_key = await _run(_ssh_command(info, stranger, info.port), "true")
        by_password = await _run(
            _ssh_command(info, stranger, info.port, "-o", "PreferredAuthentications=password"),
            "true",
        )
    assert by_key.returncode == 255
    assert b"Permission denied" in by_key.stderr
    assert by_password.returncode == 255
    assert b"Permission denied (publickey)" in by_password.stderr


async def test_listens_on_loopback_only_and_cleans_up_its_directory() -> None:
    async with DemoServer() as info:
        workdir = info.client_key.parent
        assert stat.S_IMODE(workdir.stat().st_mode) == 0o700
        assert stat.S_IMODE(info.client_key.stat().st_mode) == 0o600
        listening = Path("/proc/net/tcp").read_text()
        # /proc/net/tcp shows local address:port in hex; 0100007F is 127.0.0.1.
        assert f"0100007F:{info.port:04X}" in listening
        assert f"00000000:{info.port:04X}" not in listening
    assert not workdir.exists()


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
async def test_tmux_runs_on_a_private_socket_that_is_removed_on_exit() -> None:
    async with DemoServer() as info:
        argv = _ssh_command(info, info.client_key, info.port)
        started = await _run(argv, "tmux new-session -d -s demo-check && tmux ls -F '#S'")
        socket_dirs = list(info.tmux_tmpdir.iterdir())
    assert started.stdout == b"demo-check\n"
    assert socket_dirs  # the tmux server made its socket directory under the demo's tmpdir
    assert not info.tmux_tmpdir.exists()


async def test_relay_blackhole_stalls_traffic_silently_and_restore_resumes() -> None:
    async with DemoServer() as info:
        relay = FaultRelay(info.host, info.port)
        await relay.start()
        try:
            through_relay = await _run(_ssh_command(info, info.client_key, relay.port), "echo ok")
            assert through_relay.stdout == b"ok\n"

            relay.blackhole()
            process = await asyncio.create_subprocess_exec(
                *_ssh_command(info, info.client_key, relay.port),
                "echo after-restore",
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            with pytest.raises(TimeoutError):  # silence, not an error, while dropped
                await asyncio.wait_for(asyncio.shield(process.wait()), timeout=1.0)
            relay.restore()
            out, _ = await asyncio.wait_for(process.communicate(), timeout=20)
            assert out == b"after-restore\n"
        finally:
            await relay.close()


# --- stale directories of a killed demo -----------------------------------------------------


def _dead_process_identity() -> str:
    """The owner record of a process that has ended (started and reaped here)."""
    child = subprocess.Popen(["sleep", "30"])
    identity = process_identity(child.pid)
    child.kill()
    child.wait(timeout=10)
    assert identity is not None
    assert process_identity(child.pid) is None
    return identity


def _demo_dir(parent: Path, name: str, owner: str | None) -> Path:
    directory = parent / f"termkeep-demo-{name}"
    directory.mkdir(mode=0o700)
    (directory / "client_key").write_text("private key of a demo")
    if owner is not None:
        (directory / "owner").write_text(f"{owner}\n")
    return directory


def _tmux_server_pid(tmux_tmpdir: Path) -> int | None:
    env = {**os.environ, "TMUX_TMPDIR": str(tmux_tmpdir)}
    env.pop("TMUX", None)
    done = subprocess.run(
        ["tmux", "display-message", "-p", "#{pid}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    return int(done.stdout) if done.returncode == 0 else None


def test_stale_demo_dirs_of_dead_owners_go_and_everything_else_stays(tmp_path: Path) -> None:
    dead = _demo_dir(tmp_path, "dead", _dead_process_identity())
    me = process_identity(os.getpid())
    alive = _demo_dir(tmp_path, "alive", me)
    assert me is not None
    pid, start = me.split()
    reused = _demo_dir(tmp_path, "reused", f"{pid} {int(start) + 1}")  # same pid, not us
    unrecorded = _demo_dir(tmp_path, "unrecorded", None)  # being made, or another version's
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "owner").write_text(f"{_dead_process_identity()}\n")
    (tmp_path / "termkeep-demo-link").symlink_to(elsewhere)
    other = tmp_path / "not-a-demo"
    other.mkdir()

    removed = remove_stale_demo_dirs(tmp_path)

    assert removed == [dead, reused]
    assert not dead.exists()
    assert not reused.exists()
    assert alive.exists()
    assert unrecorded.exists()
    assert (elsewhere / "owner").exists()  # a link named like a demo dir is not followed
    assert other.exists()


def test_a_demo_dir_of_another_user_is_never_removed(tmp_path: Path) -> None:
    require(None if os.geteuid() == 0 else "needs root to give a directory to another user")
    theirs = _demo_dir(tmp_path, "theirs", _dead_process_identity())
    os.chown(theirs, 65534, 65534)
    assert remove_stale_demo_dirs(tmp_path) == []
    assert theirs.exists()


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
def test_the_tmux_server_of_a_killed_demo_is_ended_with_its_dir(tmp_path: Path) -> None:
    stale = _demo_dir(tmp_path, "killed", _dead_process_identity())
    tmux_tmpdir = stale / "tmux"
    tmux_tmpdir.mkdir(mode=0o700)
    env = {**os.environ, "TMUX_TMPDIR": str(tmux_tmpdir)}
    env.pop("TMUX", None)
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", "left-behind", "sleep 600"],
        env=env,
        timeout=10,
        check=True,
    )
    server = _tmux_server_pid(tmux_tmpdir)
    assert server is not None
    assert remove_stale_demo_dirs(tmp_path) == [stale]
    assert not stale.exists()
    # tmux kill-server returns before the server process has exited.
    wait_until(lambda: process_identity(server) is None, timeout=20, what="stale tmux ended")


async def test_a_new_demo_server_records_this_process_as_owner(tmp_path: Path) -> None:
    async with DemoServer() as info:
        workdir = info.client_key.parent
        assert (workdir / "owner").read_text() == f"{process_identity(os.getpid())}\n"
        assert remove_stale_demo_dirs(workdir.parent) == []  # a running demo is never stale
        assert workdir.exists()

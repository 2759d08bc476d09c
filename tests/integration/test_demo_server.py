"""The demo's SSH server and fault relay, exercised with the real OpenSSH client."""

from __future__ import annotations

import asyncio
import shutil
import stat
import subprocess
from pathlib import Path

import asyncssh
import pytest

from termkeep.transport.demo_server import DemoServer, DemoServerInfo
from termkeep.transport.relay import FaultRelay

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
    # The history view keeps a helper shell that answers requests on its stdin; on the demo
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

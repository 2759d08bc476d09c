"""The loopback ``sshd`` fixture really serves OpenSSH clients, with isolated tmux."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path

import asyncssh
import pytest

from tests.fixtures import leaks, procs, shadow
from tests.fixtures.sshd import SshServer
from tests.fixtures.streams import StreamingSsh, counter_command
from tests.fixtures.waiting import wait_until


def _default_tmux_socket() -> Path:
    """Where the developer's own tmux server listens (what the fixture must never touch)."""
    base = Path(os.environ.get("TMUX_TMPDIR") or "/tmp")
    return base / f"tmux-{os.getuid()}" / "default"


def test_openssh_client_runs_a_command(sshd: SshServer) -> None:
    marker = secrets.token_hex(8)
    result = sshd.run_ssh(f"echo {marker}; id -un")

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [marker, sshd.user]


def test_known_hosts_lists_the_host_key_and_strict_checking_needs_it(sshd: SshServer) -> None:
    assert sshd.known_hosts.read_text().splitlines() == sshd.known_hosts_lines()
    sshd.known_hosts.write_text("")

    result = sshd.run_ssh("true")

    assert result.returncode == 255
    assert "Host key verification failed" in result.stderr


def test_swapped_host_key_is_refused_by_strict_client(sshd: SshServer) -> None:
    old_keys = sshd.host_public_keys
    port = sshd.port

    new_keys = sshd.swap_host_key()
    result = sshd.run_ssh("true")

    assert set(new_keys).isdisjoint(old_keys)
    assert sshd.port == port
    assert result.returncode == 255
    assert "Host key verification failed" in result.stderr


def test_tmux_over_ssh_uses_the_private_socket(sshd: SshServer) -> None:
    developer_socket = _default_tmux_socket()
    existed_before = developer_socket.exists()
    name = f"tk-{secrets.token_hex(4)}"

    result = sshd.run_ssh(f"tmux new-session -d -s {name} && echo $TMUX_TMPDIR")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(sshd.tmux_tmpdir)
    assert sshd.tmux("has-session", "-t", name).returncode == 0
    assert sshd.tmux_socket.is_socket()
    assert developer_socket.exists() == existed_before
    if existed_before:  # the developer's server, asked read-only, does not know the session
        probe = sshd.tmux("-S", str(developer_socket), "has-session", "-t", name)
        assert probe.returncode != 0


def test_kill_tmux_ends_the_tmux_server(sshd: SshServer) -> None:
    assert sshd.run_ssh("tmux new-session -d -s work").returncode == 0
    server_pid = sshd.tmux_server_pid()
    assert server_pid is not None

    killed = sshd.kill_tmux()

    assert killed == server_pid
    assert not procs.is_alive(server_pid)
    assert sshd.tmux("has-session", "-t", "work").returncode != 0


def test_kill_connections_ends_an_established_session(sshd: SshServer) -> None:
    with StreamingSsh(sshd, "echo ready; sleep 60") as client:
        assert client.next_line(timeout=10) == "ready"
        connections = sshd.connection_pids()
        assert connections, "an established session has a per-connection sshd"

        killed = sshd.kill_connections()

        assert set(connections) <= set(killed)
        assert client.wait_exit(timeout=10) == 255
    assert sshd.connection_pids() == []
    assert sshd.run_ssh("true").returncode == 0, "the listener still accepts"


def test_restart_keeps_port_and_keys_and_established_sessions(sshd: SshServer) -> None:
    old_pid, port, host_keys = sshd.pid, sshd.port, sshd.host_public_keys
    with StreamingSsh(sshd, counter_command()) as client:
        assert client.next_line(timeout=10) == "1"

        sshd.restart()

        assert (sshd.port, sshd.host_public_keys) == (port, host_keys)
        assert sshd.pid != old_pid
        assert not procs.is_alive(old_pid)
        assert sshd.run_ssh("true").returncode == 0
        assert sshd.connection_pids(), "the old session is still listed after a restart"
        last = int(client.drain()[-1] or 0)
        assert client.next_line(timeout=10) == str(last + 1), "the session keeps running"


def test_restart_dropping_connections_ends_sessions(sshd: SshServer) -> None:
    with StreamingSsh(sshd, "echo ready; sleep 60") as client:
        assert client.next_line(timeout=10) == "ready"

        sshd.restart(drop_connections=True)

        assert client.wait_exit(timeout=10) == 255
    assert sshd.run_ssh("true").returncode == 0


def test_connection_count_counts_client_attempts(sshd: SshServer) -> None:
    assert sshd.connection_count() == 0, "the readiness probe is not counted"
    before = sshd.connection_count()
    assert sshd.run_ssh("true").returncode == 0
    wait_until(lambda: sshd.connection_count() == before + 1, timeout=5, what="the log line")

    rejected_key = sshd.add_client_key("stranger", authorize=False)
    result = sshd.run_ssh("true", identity=rejected_key)

    assert result.returncode == 255
    assert "Permission denied" in result.stderr
    wait_until(lambda: sshd.connection_count() == before + 2, timeout=5, what="the log line")


def test_added_key_with_passphrase_is_authorized(sshd: SshServer) -> None:
    key = sshd.add_client_key("with_passphrase", passphrase="correct horse")

    assert key.read_text().startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert sshd.authorized_keys.read_text().count("\n") == 2


async def test_asyncssh_logs_in_with_the_client_key(sshd: SshServer) -> None:
    async with asyncssh.connect(
        sshd.host,
        port=sshd.port,
        username=sshd.user,
        client_keys=[str(sshd.client_key)],
        known_hosts=str(sshd.known_hosts),
        agent_path=None,
    ) as connection:
        result = await connection.run("echo $TMUX_TMPDIR", check=True)

    assert result.stdout == f"{sshd.tmux_tmpdir}\n"


@pytest.mark.root
async def test_password_and_keyboard_interactive_login(
    sshd_factory: Callable[..., SshServer],
) -> None:
    password = secrets.token_urlsafe(12)
    server = sshd_factory(password=password)

    class Answers(asyncssh.SSHClient):
        def kbdint_auth_requested(self) -> str:
            return ""

        def kbdint_challenge_received(  # the names are asyncssh's callback signature
            self,
            name: str,  # noqa: ARG002
            instructions: str,  # noqa: ARG002
            lang: str,  # noqa: ARG002
            prompts: Sequence[tuple[str, bool]],
        ) -> list[str]:
            return [password for _prompt in prompts]

    common = {
        "port": server.port,
        "username": server.user,
        "known_hosts": str(server.known_hosts),
        "client_keys": None,
        "agent_path": None,
    }
    async with asyncssh.connect(
        server.host, password=password, preferred_auth="password", **common
    ) as connection:
        assert (await connection.run("id -un")).stdout == f"{server.user}\n"
    async with asyncssh.connect(
        server.host, preferred_auth="keyboard-interactive", client_factory=Answers, **common
    ) as connection:
        assert (await connection.run("true")).exit_status == 0
    with pytest.raises(asyncssh.PermissionDenied):
        await asyncssh.connect(server.host, password="wrong", preferred_auth="password", **common)
    assert "Accepted keyboard-interactive/pam" in server.log_text()


@pytest.mark.parametrize(
    ("entry", "locked"),
    [("root:!:19000::::::", True), ("root:*:19000::::::", False), ("root:$6$s$h:1::::::", False)],
)
def test_locked_accounts_are_recognised(tmp_path: Path, entry: str, locked: bool) -> None:
    shadow_file = tmp_path / "shadow"
    shadow_file.write_text(f"daemon:!:19000::::::\n{entry}\n")

    assert shadow.account_locked("root", shadow_file) is locked
    assert shadow.account_locked("nobody-here", shadow_file) is False


def test_leak_check_sees_processes_started_through_the_server(sshd: SshServer) -> None:
    assert sshd.run_ssh("tmux new-session -d -s work").returncode == 0
    tmux_pid = sshd.tmux_server_pid()
    leftover = f"process {tmux_pid} (from a test sshd)"

    assert leftover in [found.description for found in leaks.registry.leftovers()]
    sshd.kill_tmux()
    assert leftover not in [found.description for found in leaks.registry.leftovers()]


def test_stop_ends_processes_that_left_the_session(sshd: SshServer) -> None:
    detached = "setsid sleep 300 </dev/null >/dev/null 2>&1 &"
    assert sshd.run_ssh(detached).returncode == 0
    escaped = wait_until(sshd.session_processes, timeout=10, what="the detached sleep")
    assert not set(escaped) & set(procs.descendants_of(sshd.pid)), "it left the sshd tree"

    sshd.stop()

    assert not any(procs.is_alive(pid) for pid in escaped)

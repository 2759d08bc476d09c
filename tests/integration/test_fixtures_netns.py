"""Each network fault of ``netns_sshd`` has the real effect it promises, and cleans up."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from tests.fixtures import leaks, procs
from tests.fixtures.netns import NetnsSshServer, guard_route_exists, start_netns_sshd
from tests.fixtures.sshd import make_workdir
from tests.fixtures.streams import StreamingSsh, counter_command
from tests.fixtures.waiting import wait_until

# Long enough that a stalled session must have printed several lines were it not stalled
# (the counter prints every 0.1 s), short enough to keep the suite quick.
QUIET_WINDOW = 0.5
SILENCE_WINDOW = 1.0


def connect_error(server: NetnsSshServer, timeout: float = 2.0) -> BaseException | None:
    """Open (and close) a fresh TCP connection to the server; the error, or None."""
    try:
        with socket.create_connection((server.host, server.port), timeout=timeout):
            return None
    except OSError as error:
        return error


def test_ssh_reaches_the_server_over_the_veth(netns_sshd: NetnsSshServer) -> None:
    marker = secrets.token_hex(8)
    result = netns_sshd.run_ssh(f"echo {marker} $SSH_CONNECTION")

    assert result.returncode == 0, result.stderr
    echoed, client_address, _port, server_address, server_port = result.stdout.split()
    assert echoed == marker
    assert (client_address, server_address, server_port) == (
        netns_sshd.network.client_address,
        netns_sshd.host,
        "22",
    )
    assert guard_route_exists(netns_sshd.network.subnet)


def test_blackhole_stalls_the_session_and_restore_resumes_it(netns_sshd: NetnsSshServer) -> None:
    with StreamingSsh(netns_sshd, counter_command()) as client:
        assert client.next_line(timeout=10) == "1"

        with netns_sshd.blackhole():
            # Lines already on their way may still land; then the output must stop.
            arrived = client.lines_until_quiet(quiet=QUIET_WINDOW, within=5.0)
            assert isinstance(connect_error(netns_sshd, timeout=1.0), TimeoutError)
            last_seen = int(arrived[-1]) if arrived else 1

        # TCP retransmits what the server wrote during the outage: the count goes on
        # without a gap, over the same connection.
        assert client.next_line(timeout=20) == str(last_seen + 1)
        assert client.process.poll() is None
    assert connect_error(netns_sshd) is None


def test_reset_refuses_fresh_connections_and_kills_established_ones(
    netns_sshd: NetnsSshServer,
) -> None:
    with StreamingSsh(netns_sshd, counter_command()) as client:
        assert client.next_line(timeout=10) == "1"

        with netns_sshd.reset():
            assert isinstance(connect_error(netns_sshd), ConnectionRefusedError)
            assert client.wait_exit(timeout=10) == 255
        # ECONNRESET on a read, or EPIPE on the write that follows the RST.
        stderr = client.stderr_text().lower()
        assert "reset" in stderr or "broken pipe" in stderr, stderr
    assert connect_error(netns_sshd) is None


def test_link_down_makes_the_network_unreachable(netns_sshd: NetnsSshServer) -> None:
    with netns_sshd.link_down():
        error = connect_error(netns_sshd)
        assert isinstance(error, OSError)
        assert error.errno in {errno.ENETUNREACH, errno.EHOSTUNREACH}
        # The guard route answers for the subnet: nothing follows the default route out.
        route = subprocess.run(
            ["ip", "route", "get", netns_sshd.host], capture_output=True, text=True, check=False
        )
        assert route.returncode != 0
        assert "unreachable" in route.stderr.lower()
    assert connect_error(netns_sshd) is None


def test_link_up_undoes_link_down(netns_sshd: NetnsSshServer) -> None:
    fault = netns_sshd.link_down()
    assert connect_error(netns_sshd) is not None

    netns_sshd.link_up()

    assert not fault.active
    assert netns_sshd.run_ssh("true").returncode == 0


def test_kill_connections_aborts_the_session_server_side(netns_sshd: NetnsSshServer) -> None:
    with StreamingSsh(netns_sshd, "echo ready; sleep 60") as client:
        assert client.next_line(timeout=10) == "ready"
        assert netns_sshd.connection_pids()

        netns_sshd.kill_connections()

        assert client.wait_exit(timeout=10) == 255
    assert netns_sshd.run_ssh("true").returncode == 0


def test_kill_tmux_ends_the_tmux_server_in_the_namespace(netns_sshd: NetnsSshServer) -> None:
    assert netns_sshd.run_ssh("tmux new-session -d -s work").returncode == 0
    assert netns_sshd.tmux("has-session", "-t", "work").returncode == 0
    server_pid = netns_sshd.tmux_server_pid()
    assert server_pid in netns_sshd.network.pids(), "tmux runs on the server host"

    netns_sshd.kill_tmux()

    assert netns_sshd.tmux("has-session", "-t", "work").returncode != 0


def test_restart_sshd_keeps_the_port(netns_sshd: NetnsSshServer) -> None:
    old_pid = netns_sshd.pid

    netns_sshd.restart_sshd(drop_connections=True)

    assert netns_sshd.pid != old_pid
    assert netns_sshd.port == 22
    assert netns_sshd.run_ssh("true").returncode == 0


def test_restart_sshd_during_a_blackhole(netns_sshd: NetnsSshServer) -> None:
    old_pid = netns_sshd.pid

    with netns_sshd.blackhole():
        netns_sshd.restart_sshd(drop_connections=True)
        assert netns_sshd.pid != old_pid
        assert isinstance(connect_error(netns_sshd, timeout=1.0), TimeoutError)

    assert netns_sshd.run_ssh("true").returncode == 0


async def test_asyncssh_sees_blackhole_and_restore(netns_sshd: NetnsSshServer) -> None:
    async with asyncssh.connect(
        netns_sshd.host,
        port=netns_sshd.port,
        username=netns_sshd.user,
        client_keys=[str(netns_sshd.client_key)],
        known_hosts=str(netns_sshd.known_hosts),
        agent_path=None,
    ) as connection:
        with netns_sshd.blackhole():
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(connection.run("echo stalled"), timeout=SILENCE_WINDOW)
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(
                    asyncio.open_connection(netns_sshd.host, netns_sshd.port),
                    timeout=SILENCE_WINDOW,
                )
        result = await asyncio.wait_for(connection.run("echo back"), timeout=20)
    assert result.stdout == "back\n"


@pytest.mark.root
@pytest.mark.sshd
def test_stop_with_faults_active_removes_everything(sshd_host_keys: Path) -> None:
    workdir = make_workdir()
    leaks.registry.add_directory(workdir)
    server = start_netns_sshd(workdir, host_keys_from=sshd_host_keys)
    listener = server.pid
    try:
        assert server.run_ssh("tmux new-session -d -s work").returncode == 0
        inside = server.network.pids()
        server.blackhole()
        server.reset()
        server.link_down()
    finally:
        server.stop()
        shutil.rmtree(workdir)

    network = server.network
    assert not network.exists()
    assert not Path(f"/sys/class/net/{network.host_veth}").exists()
    assert not guard_route_exists(network.subnet)
    assert not any(procs.is_alive(pid) for pid in [listener, *inside])
    assert server.tmux("has-session", "-t", "work").returncode != 0


RECORD_AND_FAIL = """
import json
from pathlib import Path
from typing import Any

from tests.fixtures.waiting import wait_until


def record(server):
    network = server.network
    created = {"namespace": network.name, "veth": network.host_veth, "subnet": network.subnet,
               "sshd": server.pid, "workdir": str(server.workdir)}
    Path(__file__).with_name("created.json").write_text(json.dumps(created))


def test_fails_with_every_fault_active(netns_sshd):
    record(netns_sshd)
    netns_sshd.blackhole()
    netns_sshd.reset()
    netns_sshd.link_down()
    raise AssertionError("deliberate failure with faults active")


def test_waits_to_be_killed(netns_sshd):
    netns_sshd.blackhole()
    record(netns_sshd)
    never = Path(__file__).with_name("never")
    wait_until(never.exists, timeout=60, what="SIGTERM from the outer test")
"""


def start_inner_pytest(directory: Path, test_name: str) -> subprocess.Popen[str]:
    """Run one test of RECORD_AND_FAIL in a separate pytest process loading our plugin."""
    (directory / "test_inner.py").write_text(RECORD_AND_FAIL)
    repository = Path(__file__).resolve().parents[2]
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "pytest", "-p", "tests.fixtures.plugin", "-c", "/dev/null"),
            *("--rootdir", str(directory), "-q", f"{directory / 'test_inner.py'}::{test_name}"),
        ],
        cwd=directory,
        env={**os.environ, "PYTHONPATH": str(repository)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def assert_all_removed(created: dict[str, Any]) -> None:
    """Namespace, veth, guard route, sshd and work dir recorded by the inner test are gone."""
    assert not Path(f"/run/netns/{created['namespace']}").exists()
    assert not Path(f"/sys/class/net/{created['veth']}").exists()
    assert not guard_route_exists(created["subnet"])
    assert not procs.is_alive(created["sshd"])
    assert not Path(created["workdir"]).exists()


@pytest.mark.root
@pytest.mark.sshd
def test_a_failing_test_still_leaves_nothing_behind(tmp_path: Path) -> None:
    with start_inner_pytest(tmp_path, "test_fails_with_every_fault_active") as inner:
        output, _ = inner.communicate(timeout=120)

    assert inner.returncode == 1, output
    assert "1 failed" in output
    assert "deliberate failure with faults active" in output
    assert "leaked" not in output
    assert_all_removed(json.loads((tmp_path / "created.json").read_text()))


@pytest.mark.root
@pytest.mark.sshd
def test_sigterm_to_pytest_still_cleans_up(tmp_path: Path) -> None:
    record = tmp_path / "created.json"
    with start_inner_pytest(tmp_path, "test_waits_to_be_killed") as inner:
        wait_until(record.exists, timeout=60, what="the inner test to start its server")
        inner.send_signal(signal.SIGTERM)
        output, _ = inner.communicate(timeout=60)

    assert inner.returncode == pytest.ExitCode.INTERRUPTED, output
    assert "SIGTERM" in output
    assert "leaked" not in output
    assert_all_removed(json.loads(record.read_text()))


# --- latency ----------------------------------------------------------------------------


def connect_seconds(server: NetnsSshServer) -> float:
    """How long a fresh TCP connect to the server takes: one round trip (SYN, SYN-ACK)."""
    started = time.monotonic()
    with socket.create_connection((server.host, server.port), timeout=10.0):
        return time.monotonic() - started


def delayer_pids(server: NetnsSshServer) -> list[int]:
    return [
        pid
        for pid in server.network.pids()
        if b"delayer.py" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]


def test_delay_adds_its_round_trip_to_tcp_and_ssh(netns_sshd: NetnsSshServer) -> None:
    # A lower bound only: a packet can be late on a busy machine but never early.
    with netns_sshd.delay(60):
        assert connect_seconds(netns_sshd) >= 0.120
        marker = secrets.token_hex(8)
        result = netns_sshd.run_ssh(f"echo {marker}")
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == marker
        assert len(delayer_pids(netns_sshd)) == 1
    assert delayer_pids(netns_sshd) == []
    rules = subprocess.run(
        [*netns_sshd.network.exec_prefix(), "iptables", "-t", "mangle", "-S"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "NFQUEUE" not in rules.stdout


def test_delay_holds_udp_too(netns_sshd: NetnsSshServer) -> None:
    # mosh runs over UDP: it must see the same latency as ssh does.
    echo = subprocess.Popen(
        [
            *netns_sshd.network.exec_prefix(),
            sys.executable,
            "-c",
            "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
            f"s.bind(({netns_sshd.host!r}, 7777)); print('up', flush=True); "
            "data, peer = s.recvfrom(64); s.sendto(data, peer)",
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert echo.stdout is not None
        assert echo.stdout.readline() == b"up\n"
        with (
            netns_sshd.delay(50),
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client,
        ):
            client.settimeout(10.0)
            started = time.monotonic()
            client.sendto(b"ping", (netns_sshd.host, 7777))
            assert client.recv(64) == b"ping"
            assert time.monotonic() - started >= 0.100
    finally:
        procs.stop_process(echo)


def test_delay_stays_through_restore_and_faults_stack_on_it(netns_sshd: NetnsSshServer) -> None:
    delay = netns_sshd.delay(40)
    netns_sshd.blackhole()
    assert isinstance(connect_error(netns_sshd, timeout=1.0), TimeoutError)
    assert not netns_sshd.reachable()

    netns_sshd.restore()

    assert delay.active
    assert netns_sshd.reachable()
    assert connect_seconds(netns_sshd) >= 0.080
    delay.undo()
    assert delayer_pids(netns_sshd) == []


def test_stop_removes_an_active_delay(sshd_host_keys: Path) -> None:
    server = start_netns_sshd(make_workdir(), host_keys_from=sshd_host_keys)
    try:
        server.delay(30)
        namespace = server.network.name
        assert delayer_pids(server)
    finally:
        server.stop()
    assert not Path(f"/run/netns/{namespace}").exists()

#!/usr/bin/env python3
"""Tunnel benchmark: ``termkeep tunnel`` against ``autossh -M 0 -N -L`` and ``ssh -N -L``.

The lab is the test suite's: a "server host" in a network namespace this script creates,
with the real OpenSSH sshd inside and two TCP services next to it (an echo service and a
bulk source), faults from nftables (silent drop) and from killing the per-connection sshd
(server-side abort). Each client forwards a local port to the echo service.

For each client it prints:

- *recovered*: from the end of a 10 s silent drop, and from a server-side abort, to the first
  successful request through the tunnel: a fresh TCP connection to the local port whose
  bytes come back from the echo service. Requests are tried every 50 ms, each given 5 s
  (a client such as curl or psql waits that long for a slow server);
- *throughput*: one bulk stream (``--bulk-mib``, default 256 MiB) from the source service
  through the tunnel, in MB/s, beside OpenSSH's ``ssh -N -L``.

ssh and autossh get ``ServerAliveInterval 5`` (count 3, OpenSSH's default), termkeep its
defaults (keepalive 5 s, 3 missed). ``--rtt MS`` adds latency in the namespace.

Needs root. Run: ``.venv/bin/python scripts/bench_tunnel.py``; ``--reps N`` repeats the
fault scenarios, ``--rtt 200`` for a slow link.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fixtures.netns import NetnsSshServer, start_netns_sshd
from tests.fixtures.sshd import free_loopback_port

REPO = Path(__file__).resolve().parent.parent
TRY_EVERY = 0.05
TRY_LIMIT = 5.0
RECOVERY_TIMEOUT = 90.0
UP_TIMEOUT = 30.0
DROP_SECONDS = 10.0

SERVICES = """
import socket, sys, threading
size = int(sys.argv[1])
def listen():
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0)); s.listen(64); return s
echo, source = listen(), listen()
print(echo.getsockname()[1], source.getsockname()[1], flush=True)
def serve_echo(c):
    with c:
        while d := c.recv(65536): c.sendall(d)
def serve_source(c):
    block = bytes(1 << 20)
    with c:
        try:
            for _ in range(size): c.sendall(block)
        except OSError:
            pass  # a readiness probe that hung up
def loop(s, serve):
    while True: threading.Thread(target=serve, args=(s.accept()[0],), daemon=True).start()
threading.Thread(target=loop, args=(source, serve_source), daemon=True).start()
loop(echo, serve_echo)
"""
"""The services, run inside the namespace: prints the echo and source ports, then serves."""


@dataclass
class Lab:
    server: NetnsSshServer
    echo_port: int
    source_port: int
    home: Path


@dataclass(frozen=True)
class Client:
    name: str
    command: Callable[[Lab, int, int], list[str]]
    """argv forwarding the local port (2nd) to the namespace port (3rd)."""
    needs: tuple[str, ...]
    env: Callable[[Lab], dict[str, str]] = lambda _lab: {}

    def available(self) -> bool:
        return all(shutil.which(tool) or Path(tool).exists() for tool in self.needs)


def _ssh_args(lab: Lab, local: int, remote: int) -> list[str]:
    server = lab.server
    return [
        *("-N", "-F", "/dev/null", "-i", str(server.client_key), "-p", str(server.port)),
        *("-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "ExitOnForwardFailure=yes"),
        *("-o", f"UserKnownHostsFile={server.known_hosts}", "-o", "StrictHostKeyChecking=yes"),
        *("-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3"),
        *("-L", f"127.0.0.1:{local}:127.0.0.1:{remote}"),
        f"{server.user}@{server.host}",
    ]


def _termkeep(lab: Lab, local: int, remote: int) -> list[str]:
    config = lab.home / "termkeep-config" / "hosts"
    config.mkdir(parents=True, exist_ok=True)
    server = lab.server
    (config / "bench.toml").write_text(
        f'host = "{server.host}"\nport = {server.port}\nuser = "{server.user}"\n'
        f'identity_files = ["{server.client_key}"]\nknown_hosts_file = "{server.known_hosts}"\n'
    )
    return [
        *(str(REPO / ".venv/bin/termkeep"), "tunnel", "bench"),
        *("-L", f"127.0.0.1:{local}:127.0.0.1:{remote}"),
    ]


def _termkeep_env(lab: Lab) -> dict[str, str]:
    return {
        "TERMKEEP_CONFIG_DIR": str(lab.home / "termkeep-config"),
        "TERMKEEP_STATE_DIR": str(lab.home / "termkeep-state"),
    }


CLIENTS = [
    Client("termkeep tunnel", _termkeep, (str(REPO / ".venv/bin/termkeep"),), _termkeep_env),
    Client(
        "autossh -M 0 -N -L",
        lambda lab, local, remote: ["autossh", "-M", "0", *_ssh_args(lab, local, remote)],
        ("autossh",),
        lambda _lab: {"AUTOSSH_GATETIME": "0"},
    ),
    Client(
        "ssh -N -L", lambda lab, local, remote: ["ssh", *_ssh_args(lab, local, remote)], ("ssh",)
    ),
]


def request(port: int, payload: bytes = b"ping") -> bool:
    """One fresh connection through the tunnel and its echo, within TRY_LIMIT."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=TRY_LIMIT) as conn:
            conn.settimeout(TRY_LIMIT)
            conn.sendall(payload)
            received = b""
            while len(received) < len(payload):
                chunk = conn.recv(len(payload) - len(received))
                if not chunk:
                    return False
                received += chunk
            return received == payload
    except OSError:
        return False


def first_success(port: int, since: float, process: subprocess.Popen[bytes]) -> float | None:
    """Seconds from ``since`` to the first request that goes through; None if it never does
    within RECOVERY_TIMEOUT (or the client exited)."""
    deadline = since + RECOVERY_TIMEOUT
    while time.monotonic() < deadline:
        if request(port):
            return time.monotonic() - since
        if process.poll() is not None:
            return None
        time.sleep(TRY_EVERY)
    return None


def throughput(port: int, mib: int) -> float | None:
    """MB/s of one bulk stream from the source service through the tunnel."""
    started = time.monotonic()
    received = 0
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
            while chunk := conn.recv(1 << 20):
                received += len(chunk)
    except OSError:
        return None
    if received < mib << 20:
        return None
    return received / (time.monotonic() - started) / 1e6


@contextmanager
def running(
    client: Client, lab: Lab, local: int, remote: int, ready: Callable[[int], bool]
) -> Iterator[subprocess.Popen[bytes]]:
    log = (lab.home / f"{client.name.split()[0]}.log").open("ab")
    process = subprocess.Popen(
        client.command(lab, local, remote),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        env={**os.environ, **client.env(lab)},
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + UP_TIMEOUT
        while not ready(local) and time.monotonic() < deadline and process.poll() is None:
            time.sleep(TRY_EVERY)
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # our own process group, started above
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()


@dataclass
class Row:
    drop: list[float | None] = field(default_factory=list)
    abort: list[float | None] = field(default_factory=list)
    mbps: float | None = None


def run_faults(client: Client, lab: Lab, row: Row) -> None:
    """Each fault on a fresh client, as bench_reconnect does: a reconnect right after
    another one would measure the backoff the first left behind, not the fault."""
    for results, fault in ((row.drop, _silent_drop), (row.abort, _server_abort)):
        local = free_loopback_port()
        with running(client, lab, local, lab.echo_port, request) as process:
            if not request(local):
                print(f"  {client.name}: tunnel did not come up; see {lab.home}", file=sys.stderr)
                results.append(None)
                continue
            results.append(first_success(local, fault(lab), process))


def _silent_drop(lab: Lab) -> float:
    with lab.server.blackhole():
        time.sleep(DROP_SECONDS)
    return time.monotonic()


def _server_abort(lab: Lab) -> float:
    killed_at = time.monotonic()
    lab.server.kill_connections()
    return killed_at


def run_throughput(client: Client, lab: Lab, row: Row, mib: int) -> None:
    local = free_loopback_port()
    with running(client, lab, local, lab.source_port, _sends_bytes):
        row.mbps = throughput(local, mib)


def _sends_bytes(port: int) -> bool:
    """The source service answers a new connection with its data: the tunnel is up."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=TRY_LIMIT) as conn:
            conn.settimeout(TRY_LIMIT)
            return bool(conn.recv(1))
    except OSError:
        return False


@contextmanager
def lab_up(rtt_ms: float, bulk_mib: int) -> Iterator[Lab]:
    with tempfile.TemporaryDirectory(prefix="tk-bench-tunnel-") as directory:
        home = Path(directory)
        server = start_netns_sshd(home / "sshd")
        services = None
        try:
            if rtt_ms > 0:
                server.delay(rtt_ms / 2)
            services = subprocess.Popen(
                [*server.launcher, sys.executable, "-c", SERVICES, str(bulk_mib)],
                stdout=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            assert services.stdout is not None
            echo_port, source_port = map(int, services.stdout.readline().split())
            yield Lab(server, echo_port, source_port, home)
        finally:
            if services is not None:
                services.kill()
                services.wait()
            server.stop()


def _cell(values: list[float | None]) -> str:
    done = [value for value in values if value is not None]
    if not done:
        return "never" if values else "-"
    text = f"{statistics.median(done):.2f} s"
    if len(values) > 1:
        text += f" ({min(done):.2f}-{max(done):.2f})"
    if len(done) < len(values):
        text += f" {len(values) - len(done)} never"
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rtt", type=float, default=0.0, help="added round trip, ms")
    parser.add_argument("--reps", type=int, default=3, help="fault scenarios per client")
    parser.add_argument("--bulk-mib", type=int, default=256, help="size of the bulk stream")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench_tunnel: needs root (network namespaces, nftables)", file=sys.stderr)
        return 1
    clients = [client for client in CLIENTS if client.available()]
    rows = {client.name: Row() for client in clients}
    with lab_up(args.rtt, args.bulk_mib) as lab:
        for rep in range(args.reps):
            for client in clients:
                print(f"rep {rep + 1}: {client.name}", file=sys.stderr, flush=True)
                run_faults(client, lab, rows[client.name])
        for client in clients:
            if client.name != "autossh -M 0 -N -L":  # the same ssh underneath as ssh -N -L
                run_throughput(client, lab, rows[client.name], args.bulk_mib)
    print(f"\nRTT added: {args.rtt:g} ms; {args.reps} reps; first request after the fault")
    header = f"{'':22}{'10 s drop':>22}{'server abort':>22}{'bulk MB/s':>12}"
    print(header)
    for client in clients:
        row = rows[client.name]
        mbps = f"{row.mbps:.0f}" if row.mbps is not None else "-"
        print(f"{client.name:22}{_cell(row.drop):>22}{_cell(row.abort):>22}{mbps:>12}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

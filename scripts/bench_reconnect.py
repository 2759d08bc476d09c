#!/usr/bin/env python3
"""Reconnect benchmark: termkeep against plain ssh, autossh and mosh, with real kernel faults.

The lab is the test suite's: a "server host" in a network namespace this script creates, with
the real OpenSSH sshd and tmux inside, and nftables dropping every packet for a silent outage.
Each client runs in a pane of a private local tmux server (its own socket), and the screen is
read with ``tmux capture-pane``, as a person would see it.

For each client and scenario it measures:

- *stall shown*: from the start of a silent drop to the client showing it (ssh's "not
  responding", mosh's "Last contact", termkeep's "connection lost");
- *recovered*: from the end of the fault to a typed marker command's output being visible.
  The marker is ``echo tk$((N+1))$TKVAR``; its output ends in ``kept`` only if the shell that
  set ``TKVAR`` before the fault is still there. A marker lost on the way (a fresh connection
  does not get keys typed into the dead one) is typed again after a second.

Scenarios: silent drops (``--drops``, default 10 s and 60 s: the old connection survives
the first and is dead after the second) and a server-side abort (the per-connection sshd
killed). ``--rtt MS`` adds latency in the namespace (``NetnsSshServer.delay``), TCP and mosh's
UDP alike. For termkeep it also prints the round trips its fresh reconnect took (from its
trace: each time the client had to wait for the server, the TCP handshake included).

``--trace`` runs termkeep alone once, a 10 s drop and an abort, and prints the timeline of
each recovery from "network back" to "marker on screen": termkeep's own marks, every SSH
message sent and received, in ms and in round trips. ``--tcp-recovery`` picks the
retransmission options termkeep sets (``TERMKEEP_TCP_RECOVERY``), to measure each.

``--tabs N`` measures many tabs of one host instead: N supervisors in this one process (as
the app's tabs), against sshd with its default MaxStartups (10:30:100); the server drops
every connection at once, and it prints how long each tab took to reattach its session
(median, p90, worst), how many connects sshd saw, and whether it throttled any.

``--forward-agent`` forwards a real ssh-agent (started here) from termkeep's profile, so the
attach keeps the session's stable agent path: its round trips should not change. The marker
then also runs ``ssh-add -l`` in the shell from before the fault, so *recovered* includes
reaching the agent again; ``agent lost`` in the outcome says it could not.

Needs root (namespaces, nftables). Run: ``.venv/bin/python scripts/bench_reconnect.py
--rtt 200``; ``--quick`` skips drops of 60 s and more, ``--reps N`` repeats each short
scenario.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fixtures.netns import NetnsSshServer, start_netns_sshd
from tests.fixtures.sshd import render_config
from tests.fixtures.tmux_pane import TmuxPane

REPO = Path(__file__).resolve().parent.parent
POLL = 0.02
SESSION_READY_TIMEOUT = 30.0
RECOVERY_TIMEOUT = 90.0
RETYPE_AFTER = 1.0
STALL_TIMEOUT = 40.0
LONG_DROP = 60.0
"""Drops this long run once per client, whatever ``--reps`` says."""


@dataclass
class Lab:
    """What every run shares: the added round trip and termkeep's switches."""

    rtt_ms: float = 0.0
    drop_jitter: float = 1.0
    """Each drop lasts up to this much longer (seeded): with whole-second drops the end
    would always fall at the same point of TCP's 1 s retransmission cycle."""
    tcp_recovery: str | None = None
    trace_dir: Path | None = None
    agent_socket: Path | None = None
    """A running ssh-agent's socket: termkeep's profile forwards it (``--forward-agent``)."""

    def _agent_holds(self, key: Path) -> None:
        """The agent holds only the key this server accepts, as the user's would: a key it
        refuses would cost the login a round trip with forwarding on, and hide what the
        stable agent path itself costs."""
        env = {**os.environ, "SSH_AUTH_SOCK": str(self.agent_socket)}
        for command in (["ssh-add", "-q", "-D"], ["ssh-add", "-q", str(key)]):
            subprocess.run(
                command, env=env, check=True, capture_output=True, timeout=SESSION_READY_TIMEOUT
            )

    def start_server(self, workdir: Path) -> NetnsSshServer:
        server = start_netns_sshd(workdir)
        if self.agent_socket is not None:
            runtime = workdir / "run"  # the stable agent path goes here, not in the real home
            runtime.mkdir(mode=0o700, exist_ok=True)
            set_env = next(
                line for line in render_config(server).splitlines() if line.startswith("SetEnv ")
            )
            server.extra_config = (
                "AllowAgentForwarding yes",
                f"{set_env} XDG_RUNTIME_DIR={runtime}",
            )
            server.restart()
            self._agent_holds(server.client_key)
        if self.rtt_ms > 0:
            server.delay(self.rtt_ms / 2)
        return server


LAB = Lab()


@dataclass(frozen=True)
class Client:
    """One SSH client under test, as the shell command run in a local tmux pane."""

    name: str
    command: Callable[[NetnsSshServer, Path], str]
    stall_pattern: str
    needs: tuple[str, ...]

    def available(self) -> bool:
        return all(shutil.which(tool) for tool in self.needs)


def _ssh_options(server: NetnsSshServer) -> str:
    return shlex.join(
        [
            *("-F", "/dev/null", "-i", str(server.client_key), "-p", str(server.port)),
            *("-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes"),
            *("-o", f"UserKnownHostsFile={server.known_hosts}", "-o", "StrictHostKeyChecking=yes"),
            *("-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3"),
        ]
    )


# One quoted word: autossh runs getopt over all its arguments, so a bare `-A -s bench` after
# the host would be taken as ssh options (agent forwarding, subsystem).
_REMOTE_TMUX = shlex.quote("tmux new-session -A -s bench")


def _ssh(server: NetnsSshServer, _home: Path) -> str:
    return f"ssh -t {_ssh_options(server)} {server.user}@{server.host} {_REMOTE_TMUX}"


def _autossh(server: NetnsSshServer, _home: Path) -> str:
    # -M 0: rely on ServerAlive for detection, as autossh's own docs recommend today.
    return (
        "AUTOSSH_GATETIME=0 autossh -M 0 -t "
        f"{_ssh_options(server)} {server.user}@{server.host} {_REMOTE_TMUX}"
    )


def _mosh(server: NetnsSshServer, _home: Path) -> str:
    ssh = "ssh " + _ssh_options(server)
    return (
        f"LANG=C.UTF-8 mosh --ssh={shlex.quote(ssh)} {server.user}@{server.host} "
        "-- tmux new-session -A -s bench"
    )


def _termkeep_env(server: NetnsSshServer, home: Path) -> str:
    config = home / "termkeep-config"
    (config / "hosts").mkdir(parents=True, exist_ok=True)
    (config / "hosts" / "bench.toml").write_text(
        f'host = "{server.host}"\nport = {server.port}\nuser = "{server.user}"\n'
        f'identity_files = ["{server.client_key}"]\nknown_hosts_file = "{server.known_hosts}"\n'
        + ("agent_forwarding = true\n" if LAB.agent_socket is not None else "")
        + '[tmux]\nsession = "bench"\n'
    )
    env = [f"TERMKEEP_CONFIG_DIR={config}", f"TERMKEEP_STATE_DIR={home / 'termkeep-state'}"]
    if LAB.agent_socket is not None:
        env.append(f"SSH_AUTH_SOCK={LAB.agent_socket}")
    if LAB.tcp_recovery is not None:
        env.append(f"TERMKEEP_TCP_RECOVERY={shlex.quote(LAB.tcp_recovery)}")
    env.append(f"TERMKEEP_TRACE={trace_file(home)}")
    return " ".join(env)


def trace_file(home: Path) -> Path:
    return home / "termkeep-trace.log"


def _termkeep(server: NetnsSshServer, home: Path) -> str:
    return f"{_termkeep_env(server, home)} {REPO / '.venv/bin/termkeep'} attach bench"


def _termkeep_app(server: NetnsSshServer, home: Path) -> str:
    return f"{_termkeep_env(server, home)} {REPO / '.venv/bin/termkeep'} bench"


CLIENTS = [
    Client("termkeep", _termkeep, r"connection lost", ()),
    Client("termkeep-app", _termkeep_app, r"stalled|reconnecting", ()),
    Client("ssh", _ssh, r"not responding", ("ssh",)),
    Client("autossh", _autossh, r"not responding", ("autossh",)),
    Client("mosh", _mosh, r"Last contact", ("mosh", "mosh-server")),
]


_marker_numbers = itertools.count(1)
"""One sequence for the whole run: an old marker's output can never be mistaken for a new one."""


@dataclass
class Marker:
    """Typed marker commands; each has a distinct expected output."""

    numbers: list[int] = field(default_factory=list)
    sent_at: list[float] = field(default_factory=list)

    def send(self, pane: TmuxPane) -> None:
        number = next(_marker_numbers)
        # With --forward-agent the shell also asks the agent (through the stable path it got
        # before the fault): "-noagent" at the end says it could not reach it.
        agent = " $(ssh-add -l >/dev/null 2>&1 || echo -noagent)" if LAB.agent_socket else ""
        pane.type(f"echo tk$(({number * 1000}+1))$TKVAR{agent}")
        self.numbers.append(number)
        self.sent_at.append(time.monotonic())

    def seen(self, screen: str) -> str | None:
        """``kept`` or ``fresh`` for the first of these markers' output on screen, else None."""
        for number in self.numbers:
            # Typed ahead on a slow link, the output can follow the shell's prompt.
            match = re.search(
                rf"^(?:\S*[#$] )?tk{number * 1000 + 1}(kept)?( -noagent)?\s*$",
                screen,
                re.MULTILINE,
            )
            if match:
                shell = "kept" if match.group(1) else "fresh"
                return f"{shell}, agent lost" if match.group(2) else shell
        return None


def wait_for(condition: Callable[[], object], timeout: float) -> float | None:
    """Seconds until ``condition`` is truthy, or None after ``timeout``."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if condition():
            return time.monotonic() - start
        time.sleep(POLL)
    return None


def attach(pane: TmuxPane) -> bool:
    """Wait for the remote shell, then set the variable that proves the shell survived."""
    marker = Marker()
    deadline = time.monotonic() + SESSION_READY_TIMEOUT
    while time.monotonic() < deadline:
        pane.type("export TKVAR=kept")
        marker.send(pane)
        if wait_for(lambda: marker.seen(pane.screen()) == "kept", RETYPE_AFTER) is not None:
            pane.type("clear")
            return True
    return False


def measure_recovery(pane: TmuxPane, restored_at: float) -> tuple[float | None, str]:
    """Seconds from ``restored_at`` to a marker's output, and whether the shell survived."""
    marker = Marker()
    marker.send(pane)
    deadline = restored_at + RECOVERY_TIMEOUT
    while time.monotonic() < deadline:
        outcome = marker.seen(pane.screen())
        if outcome is not None:
            return time.monotonic() - restored_at, outcome
        if pane.dead():
            return None, "session lost"
        if time.monotonic() - marker.sent_at[-1] > RETYPE_AFTER:
            marker.send(pane)
        time.sleep(POLL)
    return None, "no recovery"


@dataclass
class Result:
    stall: list[float] = field(default_factory=list)
    recovery: list[float] = field(default_factory=list)
    notes: set[str] = field(default_factory=set)
    fresh: list[FreshConnect] = field(default_factory=list)
    """termkeep only: the fresh connections that took over after the fault."""
    window: tuple[float, float] | None = None
    """Wall-clock (network back, marker seen) of the last run, to cut its trace."""

    def add(self, other: Result) -> None:
        self.stall += other.stall
        self.recovery += other.recovery
        self.notes |= other.notes
        self.fresh += other.fresh


def run_outage(server: NetnsSshServer, pane: TmuxPane, client: Client, seconds: float) -> Result:
    result = Result()
    fault = server.blackhole()
    started = time.monotonic()
    shown = wait_for(
        lambda: re.search(client.stall_pattern, pane.screen()), min(seconds, STALL_TIMEOUT)
    )
    if shown is not None:
        result.stall.append(shown)
    remaining = seconds - (time.monotonic() - started)
    if remaining > 0:
        time.sleep(remaining)
    fault.undo()
    _measure(pane, result)
    return result


def run_abort(server: NetnsSshServer, pane: TmuxPane) -> Result:
    result = Result()
    server.kill_connections()
    _measure(pane, result)
    return result


def _measure(pane: TmuxPane, result: Result) -> None:
    back_wall = time.time()
    recovered, outcome = measure_recovery(pane, time.monotonic())
    if recovered is not None:
        result.recovery.append(recovered)
        result.window = (back_wall, back_wall + recovered)
    result.notes.add(outcome)


def run_client(
    client: Client, scenarios: list[tuple[str, float | None]], reps: int
) -> dict[str, Result]:
    results: dict[str, Result] = {}
    for label, seconds in scenarios:
        total = Result()
        for rep in range(reps if seconds is None or seconds < LONG_DROP else 1):
            total.add(run_once(client, seconds, rep))
        results[label] = total
        print(f"  {client.name:12} {label:22} {_summary(total)}", flush=True)
    return results


def _jitter(seconds: float, rep: int) -> float:
    """The same extra length for every client in a given rep (seeded, reproducible)."""
    return LAB.drop_jitter * random.Random(f"{seconds}:{rep}").random()  # noqa: S311


def run_once(client: Client, seconds: float | None, rep: int) -> Result:
    """One fresh lab, one attach, one fault, one recovery."""
    with tempfile.TemporaryDirectory(prefix="tk-bench-") as tmp:
        home = Path(tmp)
        server = LAB.start_server(home / "server")
        pane = TmuxPane(
            f"tk-bench-{os.getpid()}-{rep}", client.command(server, home), size=(120, 40)
        )
        try:
            if not attach(pane):
                return Result(notes={"could not attach"})
            result = (
                run_abort(server, pane)
                if seconds is None
                else run_outage(server, pane, client, seconds + _jitter(seconds, rep))
            )
        finally:
            pane.close()
            server.kill_tmux(missing_ok=True)
            server.stop()
        trace = trace_file(home)
        if trace.exists() and result.window is not None:
            lines = read_trace(trace)
            fresh = fresh_connect(lines, result.window)
            if fresh is not None:
                result.fresh.append(fresh)
            if LAB.trace_dir is not None:
                kept = LAB.trace_dir / f"{client.name}-{seconds or 'abort'}-{rep}.log"
                shutil.copy(trace, kept)
                print_timeline(lines, result.window, kept)
        return result


# --------------------------------------------------------------------------------------------
# termkeep's trace (TERMKEEP_TRACE): where the time of one recovery went.

_TRACE_LINE = re.compile(r"^(\d+\.\d+) (\S+) (.*)$")
_CONN = re.compile(r"\[conn=(\d+)")


@dataclass(frozen=True)
class TraceLine:
    at: float
    logger: str
    text: str

    @property
    def conn(self) -> str | None:
        found = _CONN.search(self.text)
        return found.group(1) if found else None

    @property
    def ssh_message(self) -> str | None:
        """``Sent X`` / ``Received X`` for an SSH message or version line, else None."""
        found = re.search(
            r"(Sent|Received|Sending|Received) (MSG_\w+|version|packet type \d+)", self.text
        )
        if found is None:
            return None
        verb = "Sent" if found.group(1) in {"Sent", "Sending"} else "Received"
        return f"{verb} {found.group(2)}"


def read_trace(path: Path) -> list[TraceLine]:
    lines = []
    for raw in path.read_text(errors="replace").splitlines():
        found = _TRACE_LINE.match(raw)
        if found:
            lines.append(TraceLine(float(found.group(1)), found.group(2), found.group(3)))
    return lines


@dataclass(frozen=True)
class FreshConnect:
    """A fresh connection that took over: SYN to attach report."""

    seconds: float
    waits: int
    """Times the client waited on the server: TCP's handshake plus each switch from
    sending SSH messages to receiving them."""


def fresh_connect(lines: list[TraceLine], window: tuple[float, float]) -> FreshConnect | None:
    """The connection whose attach report came first after the network came back."""
    start, end = window
    report = next(
        (
            line
            for line in lines
            if start <= line.at <= end and line.text.startswith("trace: attached port=")
        ),
        None,
    )
    if report is None:
        return None  # the old connection recovered
    port = report.text.split("port=")[1].split()[0]
    conn = next(
        (line.conn for line in lines if line.text.endswith(f"trace: local port {port}")), None
    )
    connected = [
        line for line in lines if f"port={port}" in line.text and "TCP connected" in line.text
    ]
    if conn is None or not connected:
        return None
    fd = connected[-1].text.split("fd=")[1].split()[0]
    syn = max(
        (
            line
            for line in lines
            if line.at <= connected[-1].at and f"TCP connect fd={fd} " in line.text
        ),
        key=lambda line: line.at,
    )
    waits, sending = 1, True
    for line in lines:
        if not syn.at <= line.at <= report.at or line.conn != conn or line.ssh_message is None:
            continue
        received = line.ssh_message.startswith("Received")
        if received and sending:
            waits += 1
        sending = not received
    return FreshConnect(report.at - syn.at, waits)


def print_timeline(lines: list[TraceLine], window: tuple[float, float], path: Path) -> None:
    """Every mark from "network back" to "marker on screen", in ms and round trips."""
    start, end = window
    rtt = LAB.rtt_ms / 1000
    print(f"\n  timeline ({path}); 0 = network back, RTT {LAB.rtt_ms:g} ms added")
    previous = start
    for line in lines:
        if not start - 0.01 <= line.at <= end:
            continue
        if (
            line.ssh_message is None
            and not line.text.startswith("trace:")
            and "trace:" not in line.text
        ):
            continue
        offset, gap = (line.at - start) * 1000, (line.at - previous) * 1000
        rtts = f"{(line.at - start) / rtt:5.1f} RTT" if rtt else ""
        print(
            f"  {offset:8.1f} ms (+{gap:7.1f}) {rtts}  {line.logger.split('.')[-1]:11} {line.text}"
        )
        previous = line.at
    print(f"  {(end - start) * 1000:8.1f} ms            marker output on screen\n", flush=True)


def _median(values: list[float]) -> str:
    if not values:
        return "—"
    spread = f" ({min(values):.1f}-{max(values):.1f})" if len(values) > 1 else ""
    return f"{statistics.median(values):.2f} s{spread}"


def _summary(result: Result) -> str:
    notes = ", ".join(sorted(result.notes))
    stall, recovery = _median(result.stall), _median(result.recovery)
    return f"stall shown {stall:>16}   recovered {recovery:>16}   [{notes}]{_fresh_summary(result)}"


def _fresh_summary(result: Result) -> str:
    if not result.fresh:
        return ""
    waits = statistics.median(fresh.waits for fresh in result.fresh)
    seconds = statistics.median(fresh.seconds for fresh in result.fresh)
    in_rtt = f" = {seconds / (LAB.rtt_ms / 1000):.1f} RTT" if LAB.rtt_ms else ""
    return f"   fresh connect {waits:g} round trips, SYN to attached {seconds:.2f} s{in_rtt}"


def _without_values(metric: str, result: Result) -> str:
    """What a cell says when nothing was measured: a stall never shown, or why no recovery."""
    if metric == "stall":
        return "not shown"
    return ", ".join(sorted(result.notes))


# --------------------------------------------------------------------------------------------
# --tabs N: many supervisors of one host in one process, as the app's tabs.

MANY_TABS_MAX_STARTUPS = "MaxStartups 10:30:100"
"""sshd's default: random drops from 10 unauthenticated connections, all from 30."""


async def _many_tabs_once(server: NetnsSshServer, tabs: int) -> tuple[list[float], int, bool]:
    """(seconds from the abort to each tab's reattach, connects sshd saw, throttled?)."""
    from termkeep.config.profile import Profile, TmuxSettings  # noqa: PLC0415
    from termkeep.session.core import build_supervisor  # noqa: PLC0415
    from termkeep.supervisor.phase import Phase  # noqa: PLC0415
    from termkeep.supervisor.supervisor import Supervisor  # noqa: PLC0415
    from termkeep.supervisor.updates import Notice, Update  # noqa: PLC0415
    from termkeep.transport.prompts import NoPrompter  # noqa: PLC0415

    reattached: dict[int, float] = {}
    aborted_at: list[float] = []
    supervisors: list[Supervisor] = []

    def listener(index: int) -> Callable[[Update], None]:
        def heard(update: Update) -> None:
            if aborted_at and isinstance(update, Notice) and update.text.startswith("reattached"):
                reattached.setdefault(index, time.monotonic() - aborted_at[0])

        return heard

    for index in range(tabs):
        profile = Profile(
            name=f"bench-{index}",
            host=server.host,
            port=server.port,
            user=server.user,
            identity_files=(str(server.client_key),),
            known_hosts_file=str(server.known_hosts),
            tmux=TmuxSettings(session=f"bench-{index}"),
        )
        supervisor = build_supervisor(profile, NoPrompter(), on_data=lambda _d: None, size=(80, 24))
        supervisor.add_listener(listener(index))
        supervisors.append(supervisor)
    try:
        for supervisor in supervisors:
            await supervisor.start()
        deadline = time.monotonic() + SESSION_READY_TIMEOUT * 4
        while any(s.status().state is not Phase.ATTACHED for s in supervisors):
            if time.monotonic() > deadline:
                raise RuntimeError("not every tab attached")
            await asyncio.sleep(POLL)
        log_start = len(server.log_text())
        aborted_at.append(time.monotonic())
        server.kill_connections()
        deadline = time.monotonic() + RECOVERY_TIMEOUT
        while len(reattached) < tabs and time.monotonic() < deadline:  # noqa: ASYNC110 - polls a bound
            await asyncio.sleep(POLL / 4)
        since = server.log_text()[log_start:]
        connects = since.count("Connection from ")
        throttled = "past MaxStartups" in since or "MaxStartups throttling" in since
        return sorted(reattached.values()), connects, throttled
    finally:
        await asyncio.gather(*(s.close() for s in supervisors))


def run_many_tabs(tabs: int, reps: int) -> None:
    print(f"{tabs} tabs of one host in one process, sshd {MANY_TABS_MAX_STARTUPS}", flush=True)
    for rep in range(reps):
        with tempfile.TemporaryDirectory(prefix="tk-bench-") as tmp:
            server = LAB.start_server(Path(tmp) / "server")
            try:
                server.extra_config = (MANY_TABS_MAX_STARTUPS,)
                server.restart()
                times, connects, throttled = asyncio.run(_many_tabs_once(server, tabs))
            finally:
                server.kill_tmux(missing_ok=True)
                server.stop()
        if not times:
            print(f"  rep {rep + 1}: no tab reattached", flush=True)
            continue
        p90 = times[min(len(times) - 1, int(0.9 * len(times)))]
        print(
            f"  rep {rep + 1}: {len(times)}/{tabs} reattached after the abort: median "
            f"{statistics.median(times):.2f} s, p90 {p90:.2f} s, worst {times[-1]:.2f} s; "
            f"{connects} connects, sshd throttled: {'yes' if throttled else 'no'}",
            flush=True,
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reps", type=int, default=3, help="repetitions of each short scenario")
    parser.add_argument("--quick", action="store_true", help=f"skip drops of {LONG_DROP:g} s+")
    parser.add_argument("--drops", default="10,60", help="silent drops to run, in seconds")
    parser.add_argument("--rtt", type=float, default=0.0, help="round trip to add, in ms")
    parser.add_argument(
        "--drop-jitter", type=float, default=1.0, help="seconds a drop may last longer (seeded)"
    )
    parser.add_argument(
        "--clients", default="termkeep,termkeep-app,autossh,mosh", help="comma list (also: ssh)"
    )
    parser.add_argument(
        "--tcp-recovery",
        help="termkeep's retransmission options: rto_max,thin (default) or none, rto_max, thin",
    )
    parser.add_argument(
        "--trace", action="store_true", help="one traced termkeep run: print where time goes"
    )
    parser.add_argument(
        "--tabs", type=int, default=0, help="N tabs of one host in one process, after an abort"
    )
    parser.add_argument(
        "--forward-agent", action="store_true", help="termkeep forwards a real ssh-agent"
    )
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench_reconnect: needs root to create the network namespace", file=sys.stderr)
        return 2
    if args.tabs:
        LAB.rtt_ms = args.rtt
        run_many_tabs(args.tabs, args.reps)
        return 0
    if args.forward_agent:
        agent_dir = Path(tempfile.mkdtemp(prefix="tk-bench-agent-"))
        agent = start_agent(agent_dir)
        try:
            return _run(args)
        finally:
            agent.send_signal(signal.SIGTERM)
            agent.wait(timeout=SESSION_READY_TIMEOUT)
            shutil.rmtree(agent_dir, ignore_errors=True)
    return _run(args)


def start_agent(directory: Path) -> subprocess.Popen[bytes]:
    """A real ssh-agent on its own socket (``--forward-agent``); each server's client key is
    put in it when the server starts."""
    LAB.agent_socket = directory / "agent.sock"
    agent = subprocess.Popen(
        ["ssh-agent", "-D", "-a", str(LAB.agent_socket)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + SESSION_READY_TIMEOUT
    while not LAB.agent_socket.exists():
        if time.monotonic() > deadline:
            agent.kill()
            raise RuntimeError("ssh-agent did not start")
        time.sleep(POLL)
    return agent


def _run(args: argparse.Namespace) -> int:
    """The benchmark ``main`` asked for."""
    LAB.rtt_ms = args.rtt
    LAB.drop_jitter = args.drop_jitter
    LAB.tcp_recovery = args.tcp_recovery
    drops = [float(value) for value in args.drops.split(",") if value]
    if args.quick:
        drops = [drop for drop in drops if drop < LONG_DROP]
    scenarios: list[tuple[str, float | None]] = [(f"{drop:g} s drop", drop) for drop in drops]
    scenarios.append(("server-side abort", None))
    wanted = args.clients.split(",")
    if args.trace:
        LAB.trace_dir = Path(tempfile.mkdtemp(prefix="tk-bench-trace-"))
        wanted, reps = ["termkeep"], 1
        scenarios = [("10 s drop", 10.0), ("server-side abort", None)]
    else:
        reps = args.reps
    print(
        f"RTT added {args.rtt:g} ms, reps {reps}, termkeep TCP options "
        f"{args.tcp_recovery or 'rto_max,thin (default)'}",
        flush=True,
    )
    table: dict[str, dict[str, Result]] = {}
    for client in CLIENTS:
        if client.name not in wanted:
            continue
        if not client.available():
            print(f"  {client.name:12} not installed ({', '.join(client.needs)}), skipped")
            continue
        table[client.name] = run_client(client, scenarios, reps)
    _print_table(table, scenarios)
    return 0


def _print_table(
    table: dict[str, dict[str, Result]], scenarios: list[tuple[str, float | None]]
) -> None:
    print()
    print(f"{'':34} " + " ".join(f"{name:>24}" for name in table))
    for label, _ in scenarios:
        for metric in ("stall", "recovery"):
            if metric == "stall" and label == "server-side abort":
                continue
            cells = []
            for name in table:
                result = table[name][label]
                values = result.stall if metric == "stall" else result.recovery
                cell = _median(values) if values else _without_values(metric, result)
                cells.append(f"{cell:>24}")
            title = f"{label} {'stall shown' if metric == 'stall' else 'recovered'}"
            print(f"{title:34} " + " ".join(cells))
    for name in table:
        for label, _ in scenarios:
            fresh = _fresh_summary(table[name][label])
            if fresh:
                print(f"{name} {label}:{fresh}")


if __name__ == "__main__":
    raise SystemExit(main())

#!/usr/bin/env python3
"""File transfer benchmark: ``termkeep put``/``get`` beside ``scp`` and ``sftp`` in one run.

The lab is the test suite's: a "server host" in a network namespace this script creates,
with the real OpenSSH sshd inside (sftp-server as its SFTP subsystem), latency from
``delay(ms)`` and faults from nftables (silent drop) and from killing the per-connection
sshd (server-side abort). The server's files live on this machine, so each copy is checked
against its source with SHA-256 here.

It prints, for a file of ``--mib`` MiB (default 256):

- *throughput*: MB/s up and down on the namespace link (no added latency) and at an added
  round trip of ``--rtt`` ms (default 200), wall clock of each command, connection included;
  termkeep also checks the SHA-256 of both ends inside that time;
- *faults*: a server-side abort when a third of the file has arrived, and a ``--drop`` s
  (default 25) silent drop at the same point, longer than ServerAliveInterval 5 x
  ServerAliveCountMax 3 lets ssh wait. termkeep (keepalive 5 s, 3 missed: the same) and scp
  get the same settings; for each: the exit code, whether the file arrived whole (SHA-256),
  and for termkeep the bytes it sent again after the drop.

``--profile`` adds where the time of a loopback run goes: Python's start with put/get's
imports, an in-process upload and download by phase (connect, bytes, check), and a cProfile
of them. Needs root. Run with ``SHELL=/bin/sh
PYENV_REHASH_TIMEOUT=2`` in the environment:
``sudo SHELL=/bin/sh PYENV_REHASH_TIMEOUT=2 .venv/bin/python scripts/bench_transfer.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fixtures.netns import NetnsSshServer, start_netns_sshd
from tests.fixtures.sftp import with_sftp

REPO = Path(__file__).resolve().parent.parent
TERMKEEP = REPO / ".venv/bin/termkeep"
PART = ".termkeep-part"
RUN_TIMEOUT = 900.0
POLL = 0.01
KEEPALIVE = (5, 3)
"""ServerAliveInterval and ServerAliveCountMax for ssh, keepalive for termkeep: the same."""


@dataclass
class Lab:
    server: NetnsSshServer
    home: Path
    source: Path
    """The file to send, ``--mib`` MiB of random bytes."""
    remote: Path
    """The directory the server writes into (on this machine)."""
    local: Path
    """Where downloads land."""

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "TERMKEEP_CONFIG_DIR": str(self.home / "termkeep-config"),
            "TERMKEEP_STATE_DIR": str(self.home / "termkeep-state"),
        }

    def clean(self) -> None:
        for directory in (self.remote, self.local):
            for path in directory.iterdir():
                path.unlink()


def _ssh_options(lab: Lab) -> list[str]:
    server = lab.server
    interval, count = KEEPALIVE
    return [
        *("-F", "/dev/null", "-i", str(server.client_key)),
        *("-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes"),
        *("-o", f"UserKnownHostsFile={server.known_hosts}", "-o", "StrictHostKeyChecking=yes"),
        *("-o", f"ServerAliveInterval={interval}", "-o", f"ServerAliveCountMax={count}"),
    ]


def _remote(lab: Lab, path: Path) -> str:
    return f"{lab.server.user}@{lab.server.host}:{path}"


def scp(lab: Lab, upload: bool) -> list[str]:
    name = lab.source.name
    ends = (
        [str(lab.source), _remote(lab, lab.remote / name)]
        if upload
        else [_remote(lab, lab.remote / name), str(lab.local / name)]
    )
    return ["scp", "-q", "-P", str(lab.server.port), *_ssh_options(lab), *ends]


def sftp(lab: Lab, upload: bool) -> list[str]:
    name = lab.source.name
    batch = lab.home / ("put.batch" if upload else "get.batch")
    line = (
        f'put "{lab.source}" "{lab.remote / name}"'
        if upload
        else f'get "{lab.remote / name}" "{lab.local / name}"'
    )
    batch.write_text(line + "\n")
    server = lab.server
    return [
        "sftp",
        *("-q", "-b", str(batch), "-P", str(server.port), *_ssh_options(lab)),
        f"{server.user}@{server.host}",
    ]


def termkeep(lab: Lab, upload: bool) -> list[str]:
    config = lab.home / "termkeep-config" / "hosts"
    config.mkdir(parents=True, exist_ok=True)
    server = lab.server
    interval, count = KEEPALIVE
    (config / "bench.toml").write_text(
        f'host = "{server.host}"\nport = {server.port}\nuser = "{server.user}"\n'
        f'identity_files = ["{server.client_key}"]\nknown_hosts_file = "{server.known_hosts}"\n'
        f"[keepalive]\ninterval = {interval}\ncount_max = {count}\n"
    )
    if upload:
        return [str(TERMKEEP), "put", "bench", str(lab.source), "--to", str(lab.remote)]
    return [
        str(TERMKEEP),
        "get",
        "bench",
        str(lab.remote / lab.source.name),
        "--to",
        str(lab.local),
    ]


CLIENTS: dict[str, Callable[[Lab, bool], list[str]]] = {
    "termkeep": termkeep,
    "scp": scp,
    "sftp": sftp,
}


def digest(path: Path) -> str | None:
    if not path.exists():
        return None
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            sha.update(chunk)
    return sha.hexdigest()


@dataclass
class Outcome:
    seconds: float
    code: int
    whole: bool
    output: str


def run(lab: Lab, argv: list[str], copy: Path, during: Callable[[], None] | None = None) -> Outcome:
    """Run one transfer command; ``during`` runs in a thread beside it (a fault)."""
    started = time.monotonic()
    process = subprocess.Popen(
        argv,
        env=lab.env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    helper = None
    if during is not None:
        helper = threading.Thread(target=during, daemon=True)
        helper.start()
    try:
        output, _ = process.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    seconds = time.monotonic() - started
    if helper is not None:
        helper.join(timeout=RUN_TIMEOUT)
    whole = digest(copy) == digest(lab.source)
    return Outcome(seconds, process.returncode, whole, output)


def copy_of(lab: Lab, upload: bool) -> Path:
    return (lab.remote if upload else lab.local) / lab.source.name


def put_in_place(lab: Lab) -> None:
    """The server side has the file, for a download."""
    shutil.copyfile(lab.source, lab.remote / lab.source.name)


def throughput(lab: Lab, label: str) -> None:
    size = lab.source.stat().st_size
    print(f"\n{label}: {size >> 20} MiB, MB/s (wall clock, connection included)")
    print(f"{'':12}{'up':>10}{'down':>10}")
    figures: dict[str, tuple[float, float]] = {}
    for name, command in CLIENTS.items():
        lab.clean()
        up = run(lab, command(lab, True), copy_of(lab, True))
        lab.clean()
        put_in_place(lab)
        down = run(lab, command(lab, False), copy_of(lab, False))
        for outcome in (up, down):
            if outcome.code != 0 or not outcome.whole:
                print(f"  {name} failed ({outcome.code}): {outcome.output.strip()[-300:]}")
        figures[name] = (size / up.seconds / 1e6, size / down.seconds / 1e6)
        print(f"{name:12}{figures[name][0]:>10.1f}{figures[name][1]:>10.1f}", flush=True)
    ours = figures["termkeep"]
    for other in ("scp", "sftp"):
        theirs = figures[other]
        print(f"termkeep / {other}: up {ours[0] / theirs[0]:.2f}x, down {ours[1] / theirs[1]:.2f}x")


def _growing(path: Path, at_least: int) -> None:
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        try:
            if path.stat().st_size >= at_least:
                return
        except FileNotFoundError:
            pass
        time.sleep(POLL)


def faults(lab: Lab, drop_seconds: float) -> None:
    size = lab.source.stat().st_size
    print(f"\nfaults when a third of {size >> 20} MiB has arrived (upload; keepalive 5 s x 3)")
    print(f"{'':12}{'fault':>14}{'exit':>6}{'whole':>7}{'seconds':>9}  resent")
    for fault in ("server abort", f"{drop_seconds:g} s drop"):
        for name in ("termkeep", "scp"):
            lab.clean()
            # termkeep writes a partial file, scp the final name
            watched = lab.remote / (lab.source.name + (PART if name == "termkeep" else ""))

            def inject(watched: Path = watched, fault: str = fault) -> None:
                _growing(watched, size // 3)
                if fault == "server abort":
                    lab.server.kill_connections()
                else:
                    with lab.server.blackhole():
                        time.sleep(drop_seconds)

            outcome = run(lab, CLIENTS[name](lab, True), copy_of(lab, True), inject)
            resent = "-"
            if name == "termkeep":
                found = re.search(r"([\d.]+ [kMG]?B) sent again", outcome.output)
                resent = found.group(1) if found else "0 B"
            print(
                f"{name:12}{fault:>14}{outcome.code:>6}{'yes' if outcome.whole else 'no':>7}"
                f"{outcome.seconds:>9.1f}  {resent}",
                flush=True,
            )


def _in_process(lab: Lab, follow: Callable[[Any], None], marks: dict[str, float]) -> None:
    """One upload, then one download of the lab's file over one ``TransferSession``, in this
    process; ``follow`` hears every view, ``marks`` gets when each began."""
    import asyncio  # noqa: PLC0415

    from termkeep.config.profile import Profile  # noqa: PLC0415
    from termkeep.session.transfers import TransferSession  # noqa: PLC0415
    from termkeep.transfers.model import Existing, ExistingFile  # noqa: PLC0415
    from termkeep.transport.prompts import TerminalPrompter  # noqa: PLC0415

    server = lab.server

    async def overwrite(_existing: ExistingFile) -> Existing:
        return Existing.OVERWRITE

    async def both() -> None:
        profile = Profile(
            name="bench",
            host=server.host,
            port=server.port,
            user=server.user,
            identity_files=(str(server.client_key),),
            known_hosts_file=str(server.known_hosts),
        )
        session = TransferSession(profile, TerminalPrompter(), decide=overwrite)
        session.add_listener(follow)
        marks["upload"] = time.monotonic()
        await session.start()
        session.upload([lab.source], str(lab.remote))
        await session.wait_idle()
        marks["download"] = time.monotonic()
        session.download([str(lab.remote / lab.source.name)], lab.local)
        await session.wait_idle()
        await session.close()

    lab.clean()
    asyncio.run(both())


def phases(lab: Lab) -> None:
    """Where the time of a loopback ``put``/``get`` goes: starting Python with the imports
    they load, then an in-process upload and download timed by phase (connected and the file
    open, every byte acknowledged, checked)."""
    from termkeep.transfers.model import TransferState, TransferView  # noqa: PLC0415

    size = lab.source.stat().st_size
    marks: dict[str, float] = {}

    def follow(view: TransferView) -> None:
        now, direction = time.monotonic(), str(view.direction)
        if view.state is TransferState.RUNNING:
            marks.setdefault(f"{direction} running", now)
        if view.done >= size:
            marks.setdefault(f"{direction} bytes", now)
        if view.state is TransferState.DONE:
            marks.setdefault(f"{direction} checked", now)

    started = time.monotonic()
    imports = "import termkeep.cli.transfer, termkeep.headless.transfer"
    subprocess.run([sys.executable, "-c", imports], check=True)
    print(f"\nloopback phases: Python with put/get's imports {time.monotonic() - started:.2f} s")
    _in_process(lab, follow, marks)
    for direction in ("upload", "download"):
        at = [marks.get(f"{direction}{phase}") for phase in ("", " running", " bytes", " checked")]
        if None in at:
            print(f"  {direction}: a phase was not seen ({marks})")
            continue
        start, running, moved, checked = (mark or 0.0 for mark in at)
        print(
            f"  {direction}: connected and file open {running - start:.2f} s, "
            f"bytes {moved - running:.2f} s ({size / (moved - running) / 1e6:.0f} MB/s), "
            f"check (SHA-256 of both ends) {checked - moved:.2f} s"
        )


def profile(lab: Lab) -> None:
    """The in-process upload and download under cProfile: where the time goes."""
    import cProfile  # noqa: PLC0415
    import pstats  # noqa: PLC0415

    profiler = cProfile.Profile()
    profiler.enable()
    _in_process(lab, lambda _view: None, {})
    profiler.disable()
    print("\nprofile of one upload and one download (in-process), by own time:")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(18)


@contextmanager
def lab_up(mib: int) -> Iterator[Lab]:
    with tempfile.TemporaryDirectory(prefix="tk-bench-transfer-") as directory:
        home = Path(directory)
        server = start_netns_sshd(home / "sshd")
        try:
            with_sftp(server)
            source, remote, local = home / "data.bin", home / "remote", home / "local"
            remote.mkdir()
            local.mkdir()
            with source.open("wb") as handle:
                for _ in range(mib):
                    handle.write(os.urandom(1 << 20))
            yield Lab(server, home, source, remote, local)
        finally:
            server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=256, help="file size in MiB")
    parser.add_argument("--rtt", type=float, default=200.0, help="added round trip, ms")
    parser.add_argument("--drop", type=float, default=25.0, help="silent drop, seconds")
    parser.add_argument("--skip-rtt", action="store_true", help="no run at the added RTT")
    parser.add_argument("--skip-faults", action="store_true", help="no fault runs")
    parser.add_argument("--profile", action="store_true", help="cProfile one in-process run")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench_transfer: needs root (network namespaces, nftables)", file=sys.stderr)
        return 1
    missing = [tool for tool in ("scp", "sftp") if shutil.which(tool) is None]
    if missing:
        print(f"bench_transfer: needs {', '.join(missing)}", file=sys.stderr)
        return 1
    with lab_up(args.mib) as lab:
        throughput(lab, "namespace link, no added latency")
        if not args.skip_faults:
            faults(lab, args.drop)
        if args.profile:
            phases(lab)
            profile(lab)
        if not args.skip_rtt:
            fault = lab.server.delay(args.rtt / 2)
            try:
                throughput(lab, f"RTT + {args.rtt:g} ms")
            finally:
                fault.undo()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A host name that does not resolve, compared with OpenSSH's own client in the same place.

Both run inside a network namespace of their own (only ``lo``) whose resolver files are
bind-mounted by ``ip netns exec`` from ``/etc/netns/NAME/``: ``nsswitch.conf`` says files
then DNS, ``resolv.conf`` names 127.0.0.1 inside that namespace. So no query can leave the
machine. With a stub DNS server there that answers "no such name" (NXDOMAIN) to everything,
the lookup gets a definite answer (EAI_NONAME); without it, no resolver answers (EAI_AGAIN).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures import leaks
from tests.fixtures.isolation import Isolation
from tests.fixtures.requirements import missing_for_root, require
from tests.fixtures.waiting import wait_until

pytestmark = pytest.mark.root

RUN_LIMIT = 30.0
EXIT_GAVE_UP = 255

NXDOMAIN_STUB = r"""
import socket, sys
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("127.0.0.1", 53))
print("ready", flush=True)
while True:
    query, peer = sock.recvfrom(4096)
    if len(query) < 12:
        continue
    # Same id and question; flags: response, recursion desired (copied) and available,
    # RCODE 3 (no such name); no answers.
    flags = 0x8000 | (query[2] & 0x01) << 8 | 0x0080 | 3
    reply = query[:2] + flags.to_bytes(2, "big") + query[4:6] + b"\0\0\0\0\0\0" + query[12:]
    sock.sendto(reply, peer)
"""


class ResolverNamespace:
    """A network namespace with only ``lo`` and its own resolver files."""

    def __init__(self) -> None:
        self.name = f"tkdns-{os.getpid()}"
        self.etc = Path("/etc/netns") / self.name
        self._stub: subprocess.Popen[str] | None = None

    def create(self) -> None:
        leaks.registry.add_namespace(self.name)
        subprocess.run(["ip", "netns", "add", self.name], check=True, timeout=10)
        subprocess.run(["ip", "-n", self.name, "link", "set", "lo", "up"], check=True, timeout=10)
        self.etc.mkdir(parents=True)
        (self.etc / "resolv.conf").write_text(
            "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n"
        )
        (self.etc / "nsswitch.conf").write_text("hosts: files dns\n")
        (self.etc / "hosts").write_text("127.0.0.1 localhost\n")

    def run(self, *argv: str) -> list[str]:
        return ["ip", "netns", "exec", self.name, *argv]

    def answer_nxdomain(self) -> None:
        self._stub = subprocess.Popen(
            self.run(sys.executable, "-c", NXDOMAIN_STUB),
            stdout=subprocess.PIPE,
            text=True,
        )
        leaks.registry.add_pid(self._stub.pid)
        assert self._stub.stdout is not None
        assert self._stub.stdout.readline().strip() == "ready"

    def delete(self) -> None:
        if self._stub is not None:
            self._stub.kill()
            self._stub.wait(timeout=10)
        subprocess.run(["ip", "netns", "delete", self.name], check=False, timeout=10)
        shutil.rmtree(self.etc, ignore_errors=True)


@pytest.fixture
def resolver_netns() -> Iterator[ResolverNamespace]:
    require(missing_for_root())
    namespace = ResolverNamespace()
    try:
        namespace.create()
        yield namespace
    finally:
        namespace.delete()


@pytest.fixture
def home(isolation: Isolation) -> dict[str, str]:
    """Only the test's own HOME, config and state (no ~/.ssh/config or saved profile of the
    machine) and PATH: the whole environment of the commands run in the namespace."""
    return {
        "HOME": str(isolation.home),
        "TERMKEEP_CONFIG_DIR": str(isolation.config_dir),
        "TERMKEEP_STATE_DIR": str(isolation.state_dir),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    }


def ssh_to(
    namespace: ResolverNamespace, env: dict[str, str], host: str
) -> subprocess.CompletedProcess[str]:
    argv = ["ssh", "-F", "/dev/null", "-o", "BatchMode=yes", host, "true"]
    return subprocess.run(
        namespace.run("env", *(f"{k}={v}" for k, v in env.items()), *argv),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_LIMIT,
        check=False,
    )


def termkeep_argv(namespace: ResolverNamespace, env: dict[str, str], host: str) -> list[str]:
    termkeep = str(Path(sys.executable).parent / "termkeep")
    return namespace.run("env", *(f"{k}={v}" for k, v in env.items()), termkeep, "attach", host)


def test_attach_to_a_name_that_does_not_exist_ends_like_ssh(
    resolver_netns: ResolverNamespace, home: dict[str, str]
) -> None:
    resolver_netns.answer_nxdomain()
    ssh = ssh_to(resolver_netns, home, "typo")
    assert ssh.returncode == EXIT_GAVE_UP
    assert "could not resolve hostname typo" in ssh.stderr.lower()

    termkeep = subprocess.run(
        termkeep_argv(resolver_netns, home, "typo"),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_LIMIT,
        check=False,
    )
    said = (termkeep.stdout + termkeep.stderr).lower()
    assert termkeep.returncode == ssh.returncode, said
    assert "could not resolve hostname typo: name or service not known" in said
    assert "trying again" not in said


def test_attach_when_no_resolver_answers_keeps_trying(
    resolver_netns: ResolverNamespace, home: dict[str, str]
) -> None:
    ssh = ssh_to(resolver_netns, home, "box")  # ssh gives up at once
    assert ssh.returncode == EXIT_GAVE_UP
    assert "temporary failure in name resolution" in ssh.stderr.lower()

    with tempfile.TemporaryFile("w+") as out:
        process = subprocess.Popen(
            termkeep_argv(resolver_netns, home, "box"),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
        leaks.registry.add_pid(process.pid)
        try:

            def retried_twice_or_ended() -> bool:
                out.seek(0)
                return out.read().count("trying again") >= 2 or process.poll() is not None

            wait_until(
                retried_twice_or_ended,
                timeout=RUN_LIMIT,
                what="termkeep to try the name again twice",
                interval=0.1,
            )
            assert process.poll() is None, "termkeep gave up on a name it could not look up"
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=RUN_LIMIT)
        out.seek(0)
        said = out.read().lower()
    assert said.count("trying again") >= 2, said
    assert "could not resolve hostname box: temporary failure in name resolution" in said

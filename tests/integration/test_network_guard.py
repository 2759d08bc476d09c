"""The network guard itself: a test that reaches off the machine fails, naming the address.

A test run of its own (pytest in a subprocess, with the suite's plugins) holds tests that each
try one way off the machine and swallow the error they get, so without the guard every one
would pass. Each must fail, and its failure must name what it tried: a connect in the test
process, one from a Python child, the real ``termkeep attach``, a name lookup, and (as root,
where the run has its own network namespace) the ``ssh`` client and glibc's resolver. A test
that stays on loopback passes. The address is 192.0.2.1 (TEST-NET-1, documentation only):
even a guard that failed to refuse would send nothing anywhere that answers.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.fixtures import leaks, netguard
from tests.fixtures.netguard_plugin import GUARD_SITE
from tests.fixtures.netns import start_netns_sshd
from tests.fixtures.sshd import make_workdir

REPOSITORY = Path(__file__).resolve().parents[2]
OFF = "192.0.2.1"
NAME = "termkeep-guard-test.example"
INNER_RUN_TIMEOUT = 180.0
DESTINATION_EVENTS = {"socket.connect", "socket.sendto"}  # audited with (socket, address)

INNER_TESTS = f'''
import ipaddress
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from tests.fixtures.netguard import DIRECTORY_ENV, VIOLATIONS_FILE
from tests.fixtures.tmux_pane import termkeep_command, tmux_pane
from tests.fixtures.waiting import wait_until

OFF = {OFF!r}
NAME = {NAME!r}
CHILD = f"""
import socket
try:
    socket.create_connection(({{OFF!r}}, 22), timeout=5)
except OSError:
    pass
"""


def swallow(call):
    try:
        call()
    except OSError:
        pass  # the test would pass if nothing but the error stopped it


def test_connect_in_process():
    swallow(lambda: socket.create_connection((OFF, 22), timeout=5))


def test_connect_from_a_python_child():
    subprocess.run([sys.executable, "-c", CHILD], timeout=60, check=True)


def test_termkeep_attach():
    violations = Path(os.environ[DIRECTORY_ENV]) / VIOLATIONS_FILE
    command = termkeep_command("attach", f"me@{{OFF}}")
    with tmux_pane(command):
        wait_until(
            lambda: violations.exists() and "by termkeep attach" in violations.read_text(),
            timeout=60,
            what="termkeep attach to try the address",
        )


def test_name_lookup_in_process():
    swallow(lambda: socket.getaddrinfo(NAME, 22))


def test_ssh_client():
    argv = ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", f"me@{{OFF}}", "true"]
    subprocess.run(argv, capture_output=True, timeout=60, check=False)


def test_dns_query_by_glibc():
    subprocess.run(["getent", "hosts", NAME], capture_output=True, timeout=60, check=False)


def test_loopback_and_localhost_stay():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))  # bound, not listening: the connect is refused
        swallow(lambda: socket.create_connection(holder.getsockname(), timeout=5))
    socket.getaddrinfo("localhost", 22)
'''

# What each failure must name. The programs that are not Python are held by the kernel only,
# in the run's own network namespace, which takes root.
NAMED_EVERYWHERE = {
    "test_connect_in_process": f"connect to {OFF}:22 (by the test process",
    "test_connect_from_a_python_child": f"connect to {OFF}:22 (by python -c",
    "test_termkeep_attach": f"connect to {OFF}:22 (by termkeep attach",
    "test_name_lookup_in_process": f"name lookup of '{NAME}' (by the test process",
}
NAMED_AS_ROOT = {
    "test_ssh_client": f"packet to {OFF} (seen by the kernel",
    "test_dns_query_by_glibc": "DNS query",
}


def inner_environment() -> dict[str, str]:
    """This run's environment without this run's guard: the inner run makes its own, and
    what it refuses must not count against the test that starts it."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in {netguard.DIRECTORY_ENV, netguard.NETNS_ENV}
    }
    paths = [path for path in environment.get("PYTHONPATH", "").split(os.pathsep) if path]
    kept = [path for path in paths if Path(path).resolve() != GUARD_SITE]
    environment["PYTHONPATH"] = os.pathsep.join([str(REPOSITORY), *kept])
    return environment


def run_inner(directory: Path, *, as_root: bool) -> dict[str, str | None]:
    """Run INNER_TESTS; map each test to its failure message, or None when it passed."""
    plugins = '["tests.fixtures.netguard_plugin", "tests.fixtures.plugin"]'
    (directory / "conftest.py").write_text(f"pytest_plugins = {plugins}\n")
    (directory / "test_inner.py").write_text(INNER_TESTS)
    report = directory / "report.xml"
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"]
    argv += ["--rootdir", str(directory), f"--junitxml={report}", "test_inner.py"]
    if not as_root:
        # Without the run's namespace nothing would stop these two: they must not run.
        argv += ["-k", "not ssh_client and not dns_query_by_glibc"]
    finished = subprocess.run(
        argv,
        cwd=directory,
        env=inner_environment(),
        capture_output=True,
        text=True,
        timeout=INNER_RUN_TIMEOUT,
        check=False,
    )
    assert report.exists(), finished.stdout + finished.stderr
    results: dict[str, str | None] = {}
    # The report was written by the run this test started, from tests this file wrote.
    for case in ElementTree.parse(report).iter("testcase"):  # noqa: S314
        failure = case.find("failure")
        if failure is None:
            failure = case.find("error")
        results[case.attrib["name"]] = None if failure is None else failure.attrib["message"]
    return results


def test_each_way_off_the_machine_fails_its_test_naming_the_address(tmp_path: Path) -> None:
    as_root = os.geteuid() == 0
    results = run_inner(tmp_path, as_root=as_root)
    expected = NAMED_EVERYWHERE | (NAMED_AS_ROOT if as_root else {})
    assert set(results) == {*expected, "test_loopback_and_localhost_stay"}
    assert results["test_loopback_and_localhost_stay"] is None
    for test, named in expected.items():
        assert named in (results[test] or "passed"), (test, results[test])


def test_a_namespace_subnet_is_allowed_only_while_registered(tmp_path: Path) -> None:
    allowlist = netguard.Allowlist(tmp_path)
    guard = netguard.Guard(tmp_path, who="a test")
    violations = netguard.ViolationLog(tmp_path)
    with socket.socket() as sock:
        allowlist.add("10.213.7.0/30")
        guard.audit("socket.connect", (sock, ("10.213.7.2", 22)))  # allowed: no error
        allowlist.remove("10.213.7.0/30")
        with pytest.raises(netguard.OffMachineConnectionError, match=r"10\.213\.7\.2:22"):
            guard.audit("socket.connect", (sock, ("10.213.7.2", 22)))
    assert violations.take() == [f"connect to 10.213.7.2:22 (by a test, pid {os.getpid()})"]
    assert violations.take() == []  # taken once


@pytest.mark.root
@pytest.mark.sshd
def test_a_test_namespace_is_reachable_while_it_exists_and_refused_after(
    sshd_host_keys: Path,
) -> None:
    workdir = make_workdir()
    leaks.registry.add_directory(workdir)
    server = start_netns_sshd(workdir, host_keys_from=sshd_host_keys)
    try:
        # Refused (and this test failed by the guard) unless the fixture registered it.
        with socket.create_connection((server.host, server.port), timeout=10) as connection:
            assert connection.recv(4) == b"SSH-"
    finally:
        server.stop()
        shutil.rmtree(workdir)
    run_guard = netguard.Guard(Path(os.environ[netguard.DIRECTORY_ENV]), who="a check")
    assert not run_guard.address_allowed(ipaddress.ip_address(server.host))


@pytest.mark.parametrize(
    ("event", "args", "named"),
    [
        ("socket.connect", ("::ffff:10.0.0.1", 22), "connect to 10.0.0.1:22"),
        ("socket.sendto", ("2001:db8::1", 53), "datagram to [2001:db8::1]:53"),
        ("socket.getaddrinfo", ("example.invalid", 22, 0, 0, 0), "name lookup of"),
        ("socket.gethostbyname", ("example.invalid",), "name lookup of"),
        ("socket.gethostbyaddr", ("192.0.2.7",), "reverse lookup of 192.0.2.7"),
    ],
)
def test_every_way_out_is_seen(
    tmp_path: Path, event: str, args: tuple[object, ...], named: str
) -> None:
    guard = netguard.Guard(tmp_path, who="a test")
    family = socket.AF_INET6 if ":" in str(args[0]) else socket.AF_INET
    refused = pytest.raises(OSError, match=re.escape(named))
    with socket.socket(family, socket.SOCK_DGRAM) as sock, refused:
        guard.audit(event, (sock, args) if event in DESTINATION_EVENTS else args)


@pytest.mark.parametrize(
    ("event", "args"),
    [
        ("socket.connect", ("127.0.0.5", 22)),
        ("socket.connect", ("::1", 22)),
        ("socket.getaddrinfo", ("localhost", 22, 0, 0, 0)),
        ("socket.getaddrinfo", ("192.0.2.7", 22, 0, 0, 0)),  # an address: nothing is asked
        ("socket.gethostbyaddr", ("127.0.0.1",)),
    ],
)
def test_loopback_and_local_names_pass(
    tmp_path: Path, event: str, args: tuple[object, ...]
) -> None:
    guard = netguard.Guard(tmp_path, who="a test")
    family = socket.AF_INET6 if ":" in str(args[0]) else socket.AF_INET
    with socket.socket(family) as sock:
        guard.audit(event, (sock, args) if event in DESTINATION_EVENTS else args)
    assert netguard.ViolationLog(tmp_path).take() == []

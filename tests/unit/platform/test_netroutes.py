"""The local network fingerprint: stable while nothing changes, different when an address or
route changes. Checked on written /proc/net-style files and on a real network namespace."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from termkeep.platform.netroutes import local_network_fingerprint

ROUTE = """\
Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t010200C0\t0003\t0\t{use}\t0\t00000000\t0\t0\t0
eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
"""
IF_INET6 = "fd000000000000000000000000000002 04 40 00 {flags}     eth0\n"
IPV6_ROUTE = (
    "fd000000000000000000000000000000 40 00000000000000000000000000000000 00 "
    "00000000000000000000000000000000 00000100 {refcnt} {use} 00000001     eth0\n"
)
FIB_TRIE = """\
Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 192.0.2.0
        /24 link UNICAST
     |-- {address}
        /32 host LOCAL
"""


def write_proc(
    root: Path,
    *,
    use: int = 0,
    flags: str = "80",
    refcnt: str = "00000001",
    address: str = "192.0.2.2",
) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "route").write_text(ROUTE.format(use=use))
    (root / "if_inet6").write_text(IF_INET6.format(flags=flags))
    (root / "ipv6_route").write_text(IPV6_ROUTE.format(refcnt=refcnt, use="0000000a"))
    (root / "fib_trie").write_text(FIB_TRIE.format(address=address))
    return root


def test_the_fingerprint_names_routes_and_local_addresses(tmp_path: Path) -> None:
    fingerprint = local_network_fingerprint(write_proc(tmp_path))
    assert "addr4 192.0.2.2" in fingerprint
    assert "addr4 192.0.2.0" not in fingerprint  # a network, not a local address
    assert "addr6 fd000000000000000000000000000002 40 eth0" in fingerprint
    assert "route4 eth0 00000000 010200C0 0003 0 00000000" in fingerprint
    assert len(fingerprint) == 5  # two IPv4 routes, one IPv6 route, two addresses


def test_counters_and_address_flags_do_not_count_as_changes(tmp_path: Path) -> None:
    before = local_network_fingerprint(write_proc(tmp_path / "a"))
    after = local_network_fingerprint(
        write_proc(tmp_path / "b", use=57, flags="c0", refcnt="00000009")
    )
    assert before == after


def test_a_new_local_address_is_a_change(tmp_path: Path) -> None:
    before = local_network_fingerprint(write_proc(tmp_path / "a"))
    after = local_network_fingerprint(write_proc(tmp_path / "b", address="192.0.2.77"))
    assert before != after


def test_without_proc_net_the_fingerprint_is_empty_and_stable(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir"
    assert local_network_fingerprint(missing) == frozenset()
    assert local_network_fingerprint(missing) == local_network_fingerprint(missing)


def test_this_machine_gives_the_same_fingerprint_twice() -> None:
    assert local_network_fingerprint() == local_network_fingerprint()


# A real change, seen from inside a network namespace this test creates and removes.

NAMESPACE = f"tk-netwatch-{os.getpid()}"
FINGERPRINT_CODE = (
    "from termkeep.platform.netroutes import local_network_fingerprint as f; "
    "print('\\n'.join(sorted(f())))"
)


@pytest.fixture
def namespace() -> Iterator[str]:
    subprocess.run(["ip", "netns", "add", NAMESPACE], check=True, timeout=10)
    try:
        yield NAMESPACE
    finally:
        subprocess.run(["ip", "netns", "delete", NAMESPACE], check=False, timeout=10)


def fingerprint_inside(namespace: str) -> list[str]:
    result = subprocess.run(
        ["ip", "netns", "exec", namespace, sys.executable, "-c", FINGERPRINT_CODE],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
        cwd=Path(__file__).resolve().parents[3],
    )
    return result.stdout.split("\n")


@pytest.mark.root
def test_a_real_address_change_changes_the_fingerprint(namespace: str) -> None:
    before = fingerprint_inside(namespace)
    # Bringing loopback up gives the namespace its local addresses and routes; nothing is
    # sent anywhere.
    subprocess.run(["ip", "-n", namespace, "link", "set", "lo", "up"], check=True, timeout=10)
    after = fingerprint_inside(namespace)
    assert before != after
    assert "addr4 127.0.0.1" in after
    assert after == fingerprint_inside(namespace)

"""A fingerprint of this host's addresses and routes, read from ``/proc/net``.

When a laptop changes Wi-Fi or a VPN comes up, the old TCP connection is usually dead while
a new one would work at once. Comparing a fingerprint of the routes and local addresses once
a second is cheap (a few small files), needs no privileges and no netlink socket, and works
in any network namespace. Where ``/proc/net`` is missing the fingerprint is empty and never
changes, so the supervisor simply never hears of a change (``supervisor.netwatch`` polls it).
"""

from __future__ import annotations

from pathlib import Path

PROC_NET = Path("/proc/net")

type Fingerprint = frozenset[str]

# Columns that describe a route, leaving out counters (RefCnt, Use) that change all the time.
_IPV4_ROUTE_COLUMNS = (0, 1, 2, 3, 6, 7)  # Iface Destination Gateway Flags Metric Mask
_IPV6_ROUTE_COLUMNS = (0, 1, 2, 3, 4, 5, 8, 9)  # dest/len src/len next-hop metric flags iface
_IPV6_ADDRESS_COLUMNS = (0, 2, 5)  # address, prefix length, interface (not the DAD flags)


def local_network_fingerprint(proc_net: Path = PROC_NET) -> Fingerprint:
    """A value that changes when a local address or route changes, and only then."""
    return frozenset(
        [
            *(f"route4 {line}" for line in _columns(proc_net / "route", _IPV4_ROUTE_COLUMNS, 1)),
            *(f"route6 {line}" for line in _columns(proc_net / "ipv6_route", _IPV6_ROUTE_COLUMNS)),
            *(f"addr6 {line}" for line in _columns(proc_net / "if_inet6", _IPV6_ADDRESS_COLUMNS)),
            *(f"addr4 {address}" for address in _local_ipv4_addresses(proc_net / "fib_trie")),
        ]
    )


def _read(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="ascii", errors="replace").splitlines()
    except OSError:
        return []


def _columns(path: Path, keep: tuple[int, ...], skip_header: int = 0) -> list[str]:
    """The chosen whitespace-separated columns of each line of a ``/proc/net`` table."""
    rows = []
    for line in _read(path)[skip_header:]:
        fields = line.split()
        if len(fields) > max(keep):
            rows.append(" ".join(fields[i] for i in keep))
    return rows


def _local_ipv4_addresses(fib_trie: Path) -> set[str]:
    """Addresses of this host: in fib_trie, a ``|-- ADDRESS`` line followed by a
    ``/32 host LOCAL`` line."""
    addresses = set()
    previous = ""
    for line in _read(fib_trie):
        text = line.strip()
        if text.endswith("host LOCAL") and previous.startswith("|-- "):
            addresses.add(previous.removeprefix("|-- "))
        if text.startswith("|-- "):
            previous = text
    return addresses

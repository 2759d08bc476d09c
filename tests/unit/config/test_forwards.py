"""Reading forwards from ssh's flags, PuTTY's strings and the profile file's tables."""

from __future__ import annotations

import pytest

from termkeep.config.forwards import (
    Forward,
    ForwardError,
    ForwardKind,
    check_distinct,
    forward_from_table,
    parse_flag,
    parse_putty_forward,
)

LOCAL, REMOTE, DYNAMIC = ForwardKind.LOCAL, ForwardKind.REMOTE, ForwardKind.DYNAMIC


@pytest.mark.parametrize(
    ("flag", "spec", "expected", "written"),
    [
        ("-L", "8080:db:5432", Forward(LOCAL, 8080, None, "db", 5432), "8080:db:5432"),
        (
            "-L",
            "127.0.0.1:8080:db:5432",
            Forward(LOCAL, 8080, "127.0.0.1", "db", 5432),
            "127.0.0.1:8080:db:5432",
        ),
        # ssh's alternative separator, handy for IPv6 without brackets
        ("-L", "8080/db/5432", Forward(LOCAL, 8080, None, "db", 5432), "8080:db:5432"),
        (
            "-L",
            "[::1]:8080:[fe80::1]:22",
            Forward(LOCAL, 8080, "::1", "fe80::1", 22),
            "[::1]:8080:[fe80::1]:22",
        ),
        # an empty bind address means every interface, as in ssh
        ("-L", ":8080:db:1", Forward(LOCAL, 8080, "*", "db", 1), "*:8080:db:1"),
        ("-R", "9000:localhost:22", Forward(REMOTE, 9000, None, "localhost", 22), None),
        (
            "-R",
            "192.0.2.1:9000:localhost:22",
            Forward(REMOTE, 9000, "192.0.2.1", "localhost", 22),
            None,
        ),
        ("-D", "1080", Forward(DYNAMIC, 1080), None),
        ("-D", "*:1080", Forward(DYNAMIC, 1080, "*"), None),
        ("-D", "[::1]:1080", Forward(DYNAMIC, 1080, "::1"), None),
    ],
)
def test_ssh_syntax_reads_and_writes_back(
    flag: str, spec: str, expected: Forward, written: str | None
) -> None:
    forward = parse_flag(flag, spec)
    assert forward == expected
    assert forward.flag == f"{flag} {written or spec}"
    assert parse_flag(flag, forward.spec) == forward  # what is shown reads back the same


@pytest.mark.parametrize(
    ("flag", "spec", "message"),
    [
        ("-L", "8080:db", "-L takes [bind_address:]port:host:hostport"),
        ("-L", "70000:db:1", "port 70000 is out of range (1-65535)"),
        ("-L", "0:db:1", "port 0 is out of range"),
        ("-L", "8080:db:http", "destination port 'http' is not a port number"),
        ("-L", "8080::22", "the destination host is empty"),
        ("-L", "a:b:c:d:e", "write IPv6 addresses in brackets"),
        ("-L", "", "-L needs an argument"),
        ("-L", "[::1:8080:db:1", "unexpected"),
        ("-R", "9000", "a remote SOCKS proxy (-R without host:hostport) is not supported"),
        ("-D", "1.2.3.4:1080:x", "-D takes [bind_address:]port"),
        ("-D", "socks", "port 'socks' is not a port number"),
        ("-X", "1", "unknown forward flag '-X'"),
    ],
)
def test_bad_ssh_syntax_names_the_entry_and_the_problem(flag: str, spec: str, message: str) -> None:
    with pytest.raises(ForwardError) as raised:
        parse_flag(flag, spec)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("entry", "flag"),
    [
        ("L8080=db:5432", "-L 8080:db:5432"),
        ("R2222=localhost:22", "-R 2222:localhost:22"),
        ("D1080", "-D 1080"),
        ("D1080=", "-D 1080"),
        # "4"/"6": the listener is limited to one address family: its loopback address
        ("4D1080", "-D 127.0.0.1:1080"),
        ("6L8080=db:80", "-L [::1]:8080:db:80"),
        ("4R9000=localhost:22", "-R 127.0.0.1:9000:localhost:22"),
        ("L192.0.2.1:8080=db:80", "-L 192.0.2.1:8080:db:80"),
        ("6L[::]:8080=db:80", "-L [::]:8080:db:80"),
        ("L8080=[::1]:80", "-L 8080:[::1]:80"),
    ],
)
def test_putty_entries(entry: str, flag: str) -> None:
    assert parse_putty_forward(entry).flag == flag


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("X8080=db:1", "expected e.g. L8080=host:80"),
        ("L8080", "the destination must be host:port"),
        ("L8080=db", "the destination must be host:port"),
        ("D1080=db:1", "a dynamic forward has no destination"),
        ("L=db:1", "the source must be [address:]port"),
        ("L99999=db:1", "out of range"),
    ],
)
def test_bad_putty_entries(entry: str, message: str) -> None:
    with pytest.raises(ForwardError) as raised:
        parse_putty_forward(entry)
    assert message in str(raised.value)


def test_file_tables_round_trip() -> None:
    for forward in (
        Forward(LOCAL, 8080, None, "db", 5432),
        Forward(REMOTE, 9000, "192.0.2.1", "localhost", 22),
        Forward(DYNAMIC, 1080, "::1"),
    ):
        assert forward_from_table(forward.as_table()) == forward


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"kind": "tunnel", "listen_port": 1}, '"kind" must be "local", "remote" or "dynamic"'),
        ({"kind": "local", "listen_port": 1}, 'a local forward needs "dest_host"'),
        ({"kind": "local", "listen_port": 1, "dest_host": "h"}, '"dest_port" must be a port'),
        ({"kind": "dynamic", "listen_port": 99999}, '"listen_port" 99999 is out of range'),
        ({"kind": "dynamic", "listen_port": True}, '"listen_port" must be a port number'),
        ({"kind": "dynamic", "listen_port": 1, "dest_port": 2}, "has no dest_host or dest_port"),
        ({"kind": "dynamic", "listen_port": 1, "listen_address": "a b"}, "without spaces"),
        ({"kind": "dynamic", "port": 1}, "unknown key 'port'; valid keys: kind, listen_address"),
    ],
)
def test_bad_tables(table: dict[str, object], message: str) -> None:
    with pytest.raises(ForwardError) as raised:
        forward_from_table(table)
    assert message in str(raised.value)


def test_two_listeners_on_one_address_are_refused_by_side() -> None:
    # The same port on the local side and on the server is fine: they are different hosts.
    check_distinct([parse_flag("-L", "8080:a:1"), parse_flag("-R", "8080:b:2")])
    check_distinct([parse_flag("-L", "127.0.0.1:8080:a:1"), parse_flag("-L", "::1/8080/b/2")])
    with pytest.raises(ForwardError) as raised:
        check_distinct([parse_flag("-L", "8080:a:1"), parse_flag("-D", "localhost:8080")])
    assert str(raised.value) == (
        "-L 8080:a:1 and -D localhost:8080 both listen on localhost:8080; "
        "give one of them another port"
    )


def test_bind_host_is_loopback_unless_named() -> None:
    assert parse_flag("-D", "1080").bind_host == "localhost"  # OpenSSH's GatewayPorts=no
    assert parse_flag("-D", "*:1080").bind_host == ""  # every interface, asked for by name
    assert parse_flag("-D", "10.0.0.1:1080").bind_host == "10.0.0.1"

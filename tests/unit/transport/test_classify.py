"""Every failure lands in exactly one Cause, and the detail reads as plain words."""

from __future__ import annotations

import errno
import socket

import asyncssh
import pytest

from termkeep.transport.classify import classify, connect_failed, describe, lookup_failed
from termkeep.transport.link import Cause, ConnectFailedError, Stage

CASES: list[tuple[BaseException, Cause]] = [
    (ConnectFailedError(Cause.HOST_KEY_CHANGED, "changed"), Cause.HOST_KEY_CHANGED),
    (asyncssh.HostKeyNotVerifiable("Host key is not trusted"), Cause.HOST_KEY_UNKNOWN),
    (asyncssh.PermissionDenied("Permission denied"), Cause.AUTH_FAILED),
    (asyncssh.IllegalUserName("bad user"), Cause.AUTH_FAILED),
    (asyncssh.KeyExchangeFailed("no matching kex"), Cause.PROTOCOL),
    (asyncssh.MACError("MAC verification failed"), Cause.PROTOCOL),
    (asyncssh.CompressionError("bad zlib"), Cause.PROTOCOL),
    (asyncssh.ProtocolError("bad packet"), Cause.PROTOCOL),
    (asyncssh.ProtocolError("Too many authentication failures"), Cause.AUTH_FAILED),
    (asyncssh.ProtocolNotSupported("SSH-1.5"), Cause.PROTOCOL),
    (asyncssh.ServiceNotAvailable("no ssh-userauth"), Cause.PROTOCOL),
    (asyncssh.ChannelOpenError(1, "administratively prohibited"), Cause.PROTOCOL),
    (asyncssh.ConnectionLost("Connection lost"), Cause.SERVER_CLOSED),
    (asyncssh.ConnectionLost("Server not responding to keepalive"), Cause.TIMEOUT),
    (asyncssh.DisconnectError(11, "Bye"), Cause.SERVER_CLOSED),
    (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), Cause.DNS),
    (socket.gaierror(socket.EAI_NODATA, "No address associated with hostname"), Cause.DNS),
    (
        socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"),
        Cause.DNS_UNAVAILABLE,
    ),
    (socket.gaierror(socket.EAI_FAIL, "Non-recoverable failure"), Cause.DNS_UNAVAILABLE),
    (ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"), Cause.REFUSED),
    (ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"), Cause.RESET),
    (ConnectionAbortedError(errno.ECONNABORTED, "Software caused connection abort"), Cause.RESET),
    (BrokenPipeError(errno.EPIPE, "Broken pipe"), Cause.RESET),
    (TimeoutError(), Cause.TIMEOUT),
    (OSError(errno.ETIMEDOUT, "Connection timed out"), Cause.TIMEOUT),
    (OSError(errno.ENETUNREACH, "Network is unreachable"), Cause.UNREACHABLE),
    (OSError(errno.EHOSTUNREACH, "No route to host"), Cause.UNREACHABLE),
    (OSError(errno.ENETDOWN, "Network is down"), Cause.UNREACHABLE),
    (OSError(errno.EADDRNOTAVAIL, "Cannot assign requested address"), Cause.UNREACHABLE),
    (OSError(errno.ECONNREFUSED, "Connection refused"), Cause.REFUSED),
    (EOFError(), Cause.SERVER_CLOSED),
    (OSError(errno.EIO, "Input/output error"), Cause.PROTOCOL),
    (ValueError("Unable to decode host key"), Cause.PROTOCOL),
]


@pytest.mark.parametrize(
    ("exc", "cause"), CASES, ids=[f"{type(e).__name__}-{c.name}" for e, c in CASES]
)
def test_classify(exc: BaseException, cause: Cause) -> None:
    assert classify(exc) is cause


def test_only_auth_and_host_key_problems_stop_retries() -> None:
    stopping = {cause for exc, cause in CASES if not classify(exc).retryable}
    assert stopping == {Cause.AUTH_FAILED, Cause.HOST_KEY_CHANGED, Cause.HOST_KEY_UNKNOWN}


@pytest.mark.parametrize(
    ("exc", "detail"),
    [
        (ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"), "Connection refused"),
        (
            asyncssh.PermissionDenied("Permission denied for user bob"),
            "Permission denied for user bob",
        ),
        (
            socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
            "Name or service not known",
        ),
        (TimeoutError(), "no reply"),
        (ConnectFailedError(Cause.TIMEOUT, "no answer within 5 s"), "no answer within 5 s"),
    ],
)
def test_describe_is_plain_words(exc: BaseException, detail: str) -> None:
    assert describe(exc) == detail
    assert "Error" not in describe(exc)


def test_connect_failed_wraps_once() -> None:
    original = ConnectFailedError(Cause.DNS, "no such host")
    assert connect_failed(original) is original
    wrapped = connect_failed(ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"))
    assert (wrapped.cause, wrapped.detail) == (Cause.RESET, "Connection reset by peer")


def test_a_failed_lookup_reads_like_ssh_and_only_a_definite_answer_ends_a_first_connect() -> None:
    typo = lookup_failed("typo", socket.gaierror(socket.EAI_NONAME, "Name or service not known"))
    assert typo.detail == "could not resolve hostname typo: Name or service not known"
    assert (typo.cause, typo.stage) == (Cause.DNS, Stage.CONNECT)
    assert typo.cause.final_at_first_connect
    no_resolver = lookup_failed(
        "box", socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
    )
    assert not no_resolver.cause.final_at_first_connect
    assert no_resolver.cause.retryable
    assert {cause for cause in Cause if cause.final_at_first_connect} == {Cause.DNS}


def test_network_causes_are_those_where_no_server_answered() -> None:
    assert {cause for cause in Cause if cause.network} == {
        Cause.TIMEOUT,
        Cause.UNREACHABLE,
        Cause.REFUSED,
        Cause.DNS,
        Cause.DNS_UNAVAILABLE,
    }


def test_connect_failed_records_the_stage_it_is_given() -> None:
    reset = ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")
    assert connect_failed(reset, Stage.GREETING).stage is Stage.GREETING
    assert connect_failed(reset).stage is Stage.ACCEPTED  # unknown: never taken as harmless
    known = ConnectFailedError(Cause.PROTOCOL, "attach report garbled")
    assert connect_failed(known, Stage.ACCEPTED) is known

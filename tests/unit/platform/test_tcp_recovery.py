"""The retransmission options that let a connection that survived an outage come back
quickly: set on a real socket where the kernel has them, skipped cleanly where it has not."""

from __future__ import annotations

import errno
import socket

import pytest

from termkeep.platform.tcp import (
    RECOVERY_ENV,
    RTO_MAX_MS,
    TCP_RTO_MAX_MS,
    TCP_THIN_LINEAR_TIMEOUTS,
    RecoveryOptions,
    apply_recovery_options,
)


class RefusingSocket:
    """A socket whose kernel lacks the options: every setsockopt fails with ``error``."""

    def __init__(self, error: int) -> None:
        self.error = error
        self.attempts: list[tuple[int, int, int]] = []

    def setsockopt(self, level: int, option: int, value: int, /) -> None:
        self.attempts.append((level, option, value))
        raise OSError(self.error, "refused")


def test_a_real_socket_takes_both_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(RECOVERY_ENV, raising=False)
    with socket.socket() as sock:
        taken = apply_recovery_options(sock)
        assert taken == RecoveryOptions(rto_max=True, thin_linear=True)
        assert sock.getsockopt(socket.IPPROTO_TCP, TCP_RTO_MAX_MS) == RTO_MAX_MS
        assert sock.getsockopt(socket.IPPROTO_TCP, TCP_THIN_LINEAR_TIMEOUTS) == 1


@pytest.mark.parametrize("error", [errno.ENOPROTOOPT, errno.EINVAL, errno.EOPNOTSUPP])
def test_a_kernel_without_the_options_is_left_as_it_is(
    monkeypatch: pytest.MonkeyPatch, error: int
) -> None:
    monkeypatch.delenv(RECOVERY_ENV, raising=False)
    sock = RefusingSocket(error)
    assert apply_recovery_options(sock) == RecoveryOptions(rto_max=False, thin_linear=False)
    assert sorted(option for _, option, _ in sock.attempts) == sorted(
        [TCP_RTO_MAX_MS, TCP_THIN_LINEAR_TIMEOUTS]
    )


def test_other_socket_errors_are_not_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(RECOVERY_ENV, raising=False)
    with pytest.raises(OSError, match="refused"):
        apply_recovery_options(RefusingSocket(errno.EBADF))


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("none", RecoveryOptions(rto_max=False, thin_linear=False)),
        ("rto_max", RecoveryOptions(rto_max=True, thin_linear=False)),
        ("thin", RecoveryOptions(rto_max=False, thin_linear=True)),
    ],
)
def test_the_benchmark_switch_picks_options(
    monkeypatch: pytest.MonkeyPatch, setting: str, expected: RecoveryOptions
) -> None:
    monkeypatch.setenv(RECOVERY_ENV, setting)
    with socket.socket() as sock:
        assert apply_recovery_options(sock) == expected
        rto_max = sock.getsockopt(socket.IPPROTO_TCP, TCP_RTO_MAX_MS)
        assert (rto_max == RTO_MAX_MS) is expected.rto_max

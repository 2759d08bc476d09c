"""What a transfer looks like to its viewers: rate, time left, one-line summaries."""

from __future__ import annotations

import pytest

from termkeep.transfers.model import (
    Direction,
    RateMeter,
    TransferState,
    TransferView,
    rate_text,
    size_text,
)


def test_the_rate_follows_a_steady_flow_and_gives_the_time_left() -> None:
    meter = RateMeter(window=3.0)
    for second in range(10):
        meter.sample(float(second), second * 1_000_000)
    assert meter.rate == pytest.approx(1_000_000)
    assert meter.eta(5_000_000) == pytest.approx(5.0)


def test_after_a_pause_the_rate_starts_over_instead_of_counting_the_gap() -> None:
    meter = RateMeter(window=3.0)
    meter.sample(0.0, 0)
    meter.sample(1.0, 1_000_000)
    meter.restart()
    meter.sample(30.0, 1_000_000)
    meter.sample(31.0, 2_000_000)
    assert meter.rate == pytest.approx(1_000_000)


def test_no_rate_no_time_left() -> None:
    assert RateMeter().eta(100) is None


@pytest.mark.parametrize(
    ("size", "text"),
    [(0, "0 B"), (999, "999 B"), (1500, "1.5 kB"), (12_300_000, "12.3 MB"), (4e9, "4.0 GB")],
)
def test_sizes_read_like_scp(size: float, text: str) -> None:
    assert size_text(size) == text


def test_a_running_transfer_summary_has_percent_rate_and_time_left() -> None:
    view = TransferView(
        1,
        Direction.UPLOAD,
        "/home/me/report.pdf",
        "/srv",
        TransferState.RUNNING,
        size=1000,
        done=420,
        rate=12_300_000,
        eta=8.0,
    )
    assert view.summary() == f"report.pdf 42% {rate_text(12_300_000)} 8.0 s left"


def test_a_failed_transfer_summary_says_why() -> None:
    view = TransferView(
        2,
        Direction.DOWNLOAD,
        "/var/log/syslog",
        ".",
        TransferState.FAILED,
        reason="permission denied on box: /var/log/syslog",
    )
    assert view.summary() == "syslog: failed: permission denied on box: /var/log/syslog"

"""Tests that need root or sshd skip naming the need, and fail instead when CI demands them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.netns import NetnsSshServer
from tests.fixtures.requirements import (
    REQUIRE_ENV,
    missing_for_password_login,
    missing_for_root,
    missing_for_sshd,
    require,
)
from tests.fixtures.sshd import SshServer


def test_missing_sshd_is_named_with_its_package(tmp_path: Path) -> None:
    absent = tmp_path / "sshd"

    assert missing_for_sshd(absent) == f"needs {absent} (Debian package openssh-server)"


def test_missing_root_is_named() -> None:
    assert missing_for_root(euid=1000) == (
        "needs root to create network namespaces and nftables rules"
    )


def test_password_login_names_its_need() -> None:
    assert missing_for_password_login(euid=1000) == (
        "needs root for password login to the test sshd (a private mount namespace)"
    )
    assert missing_for_password_login(euid=0) is None


def test_a_missing_requirement_skips_with_its_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REQUIRE_ENV, raising=False)

    with pytest.raises(pytest.skip.Exception, match="needs root to create"):
        require(missing_for_root(euid=1000))


def test_ci_turns_a_missing_requirement_into_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REQUIRE_ENV, "1")

    with pytest.raises(pytest.fail.Exception, match=f"needs root to create.*{REQUIRE_ENV}=1"):
        require(missing_for_root(euid=1000))


def test_nothing_missing_neither_skips_nor_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REQUIRE_ENV, "1")

    require(None)


def test_sshd_fixture_marks_its_tests(request: pytest.FixtureRequest, sshd: SshServer) -> None:
    assert request.node.get_closest_marker("sshd") is not None
    assert request.node.get_closest_marker("root") is None


def test_netns_fixture_marks_its_tests(
    request: pytest.FixtureRequest, netns_sshd: NetnsSshServer
) -> None:
    assert request.node.get_closest_marker("sshd") is not None
    assert request.node.get_closest_marker("root") is not None

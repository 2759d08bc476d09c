"""Fixtures for the app's Pilot and snapshot tests: a real profile store in a temp dir."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from termkeep.config.profile import Profile
from termkeep.config.store import ProfileStore
from termkeep.ui import failures
from tests.fixtures.isolation import Isolation


@pytest.fixture
def config_dir(isolation: Isolation) -> Path:
    """The test's own config dir (isolation.py), already made: the app tests start where a
    user who has run termkeep before starts."""
    isolation.config_dir.mkdir()
    return isolation.config_dir


@pytest.fixture
def store(config_dir: Path) -> ProfileStore:
    """A store with three saved hosts, on documentation addresses: shown, never dialled (a
    test that opens a live session gives its profile a loopback address)."""
    profiles = ProfileStore(config_dir / "hosts")
    for name, host in (("web-1", "192.0.2.1"), ("db-main", "192.0.2.2"), ("web-2", "192.0.2.3")):
        profiles.save(Profile(name=name, host=host, user="alice"))
    return profiles


@pytest.fixture
def log_path(tmp_path: Path) -> Iterator[Path]:
    """The app's log file, started as ``termkeep`` starts it, and stopped afterwards."""
    path = failures.start_logging(tmp_path / "log" / failures.LOG_NAME)
    yield path
    failures.stop_logging(path)


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port held bound but not listening: a connect there is refused at once, and
    no other server on the machine can take the port while the test runs."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        yield holder.getsockname()[1]

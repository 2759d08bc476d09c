"""No test sees the developer's real HOME, config, state or agent (the autouse ``isolation``
fixture of tests/fixtures/plugin.py), and neither do the programs a test starts."""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys
from pathlib import Path

import platformdirs
import pytest

from termkeep import paths
from termkeep.transport.hostkeys import DEFAULT_USER_KNOWN_HOSTS
from tests.fixtures import procs
from tests.fixtures.isolation import DROPPED_VARIABLES, Isolation, real_places
from tests.fixtures.plugin import RUN_PLACES
from tests.fixtures.sshd import SshServer
from tests.fixtures.streams import StreamingSsh

SHOW_PLACES = """
import json, os, pathlib
from termkeep import paths
print(json.dumps({
    "home": str(pathlib.Path.home()),
    "config": str(paths.config_dir()),
    "state": str(paths.state_dir()),
    "agent": os.environ.get("SSH_AUTH_SOCK"),
}))
"""


def real_homes() -> set[Path]:
    """The developer's home as the run found it and as the password database has it."""
    homes = {Path(pwd.getpwuid(os.getuid()).pw_dir)}
    started_with = real_places()["HOME"]
    if started_with:
        homes.add(Path(started_with))
    return homes


def assert_not_the_developers(place: Path) -> None:
    for real_home in real_homes():
        assert not place.is_relative_to(real_home), f"{place} is in the real home {real_home}"


def test_a_test_that_asks_for_nothing_sees_none_of_the_developers_places() -> None:
    # No fixture requested: the autouse one alone must have moved everything.
    for place in (Path.home(), paths.config_dir(), paths.state_dir()):
        assert_not_the_developers(place)
    assert list(Path.home().iterdir()) == []
    assert not paths.config_dir().exists()
    assert not paths.state_dir().exists()
    assert_not_the_developers(Path(DEFAULT_USER_KNOWN_HOSTS[0]).expanduser())
    for name in DROPPED_VARIABLES:
        assert name not in os.environ


@pytest.fixture(scope="module")
def home_outside_a_test() -> Path:
    """HOME as a module's fixture sees it: set up before any test's own isolation."""
    return Path.home()


def test_what_runs_outside_a_test_has_the_runs_places_not_the_developers(
    home_outside_a_test: Path, request: pytest.FixtureRequest
) -> None:
    assert_not_the_developers(home_outside_a_test)
    assert home_outside_a_test == request.config.stash[RUN_PLACES].home
    assert home_outside_a_test != Path.home()  # the test's own are fresh


def test_the_places_are_the_fixtures(isolation: Isolation) -> None:
    assert Path.home() == isolation.home
    assert paths.config_dir() == isolation.config_dir
    assert paths.state_dir() == isolation.state_dir
    assert Path(DEFAULT_USER_KNOWN_HOSTS[0]).expanduser() == isolation.ssh_dir / "known_hosts"


def test_without_termkeeps_variables_the_defaults_are_in_the_isolated_home(
    isolation: Isolation, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(paths.CONFIG_DIR_ENV)
    monkeypatch.delenv(paths.STATE_DIR_ENV)

    assert paths.config_dir().is_relative_to(isolation.home)
    assert paths.state_dir().is_relative_to(isolation.home)
    assert Path(platformdirs.user_cache_dir("termkeep")).is_relative_to(isolation.home)


@pytest.mark.parametrize("turn", ["first", "second"])
def test_every_test_starts_with_empty_places(isolation: Isolation, turn: str) -> None:
    # Were the places shared, the second turn would find what the first one left.
    assert list(isolation.home.iterdir()) == []
    assert not isolation.config_dir.exists()
    assert not isolation.state_dir.exists()

    isolation.write_ssh_config(f"# {turn}\n")
    isolation.config_dir.mkdir()
    (isolation.config_dir / "settings.toml").write_text(f"# {turn}\n")


def test_a_test_can_still_choose_its_own_config_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(paths.CONFIG_DIR_ENV, str(tmp_path / "mine"))

    assert paths.config_dir() == tmp_path / "mine"


def test_children_inherit_the_isolation() -> None:
    shown = subprocess.run(
        [sys.executable, "-c", SHOW_PLACES],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )

    assert json.loads(shown.stdout) == {
        "home": str(Path.home()),
        "config": str(paths.config_dir()),
        "state": str(paths.state_dir()),
        "agent": None,
    }
    assert_not_the_developers(Path.home())


def test_the_real_server_fixtures_run_in_the_isolation(sshd: SshServer) -> None:
    # sshd writes its status over its own environment block; its ssh client does not.
    with StreamingSsh(sshd, "sleep 60") as client:
        environment = procs.environment(client.process.pid)

    assert f"HOME={Path.home()}".encode() in environment
    assert f"{paths.CONFIG_DIR_ENV}={paths.config_dir()}".encode() in environment
    assert not any(entry.startswith(b"SSH_AUTH_SOCK=") for entry in environment)

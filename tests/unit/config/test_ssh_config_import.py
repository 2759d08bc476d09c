"""ssh_config import through asyncssh's parser, on the sample in tests/data/ssh_config.

The sample is copied to a temporary ``$HOME/.ssh`` because relative ``Include`` paths resolve
against ``~/.ssh``, as in OpenSSH.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from termkeep.config.errors import ConfigError
from termkeep.config.importing import ImportedEntry, ImportPlan, save_plan
from termkeep.config.profile import Profile
from termkeep.config.store import ProfileStore
from termkeep.transport.ssh_config_import import read_ssh_config
from tests.fixtures.isolation import Isolation
from tests.unit.config.conftest import DATA_DIR

SAMPLE = DATA_DIR / "ssh_config"


@pytest.fixture
def home(isolation: Isolation) -> Path:
    """The test's HOME, its ~/.ssh a copy of the sample config directory."""
    shutil.copytree(SAMPLE, isolation.ssh_dir)
    return isolation.home


@pytest.fixture
def plan(home: Path) -> ImportPlan:
    return read_ssh_config()  # the default file, ~/.ssh/config


def entry(plan: ImportPlan, alias: str) -> ImportedEntry:
    (found,) = [item for item in plan.entries if item.source == alias]
    return found


def test_each_concrete_alias_becomes_a_profile(plan: ImportPlan, home: Path) -> None:
    assert plan.origin == str(home / ".ssh" / "config")
    assert [item.source for item in plan.entries] == [
        "build",
        "web",
        "www",
        "db",
        "deep",
        "legacy",
        "bastion",
        "../escape",
    ]


def test_wildcards_negations_and_invalid_values_are_skipped_with_reasons(plan: ImportPlan) -> None:
    assert [(item.source, item.reason) for item in plan.skipped] == [
        ("zero-port", "'port' must be from 1 to 65535"),
        ("*.internal", "wildcard pattern: its settings apply to the hosts it matches"),
        ("!skip.internal", "negated pattern: it only excludes hosts from a block"),
        ("*", "wildcard pattern: its settings apply to the hosts it matches"),
    ]


def test_included_file_and_wildcard_block_apply_first_value_wins(plan: ImportPlan) -> None:
    build = entry(plan, "build").profile
    assert (build.host, build.port, build.user) == ("build.internal", 2200, "ci")
    # IdentityFile accumulates: the included block's key, then the `Host *` one.
    assert build.identity_files == ("~/.ssh/id_build", "~/.ssh/id_ed25519")
    # From `Host *` at the end of the main file.
    assert (build.keepalive.interval, build.keepalive.count_max) == (15.0, 4)
    assert build.tcp.keepalive is False


def test_an_included_block_wins_over_a_later_one_for_the_same_alias(plan: ImportPlan) -> None:
    assert entry(plan, "web").profile.user == "webadmin"  # from config.d/work.conf
    www = entry(plan, "www").profile
    assert (www.host, www.user) == ("web.example.org", "alice")


def test_port_jump_and_known_hosts(plan: ImportPlan) -> None:
    db = entry(plan, "db")
    assert (db.profile.host, db.profile.port, db.profile.jump) == ("10.0.0.5", 2222, "bastion")
    assert db.profile.user_known_hosts_files == ("~/.ssh/known_hosts_db",)
    assert db.profile.known_hosts_file is None
    assert db.notes == ("UserKnownHostsFile /dev/null ignored: termkeep always checks host keys",)


def test_explicit_zero_keepalive_is_kept(plan: ImportPlan) -> None:
    assert entry(plan, "bastion").profile.keepalive.interval == 0.0


def test_multi_hop_jump_and_proxycommand_are_explained(plan: ImportPlan) -> None:
    deep = entry(plan, "deep")
    assert deep.profile.jump == "inner"
    assert deep.notes == (
        "ProxyJump bastion,inner has several hops; termkeep follows one: saved jump 'inner', "
        "which needs its own jump 'bastion'",
    )
    legacy = entry(plan, "legacy")
    assert legacy.notes == ("ProxyCommand: saved with use_ssh_config = true, so ssh_config's runs",)
    # Never a profile that would connect straight to legacy.example.org.
    assert (legacy.profile.host, legacy.profile.use_ssh_config) == ("legacy", True)


def test_alias_that_is_not_a_profile_name_is_renamed(plan: ImportPlan) -> None:
    escaped = entry(plan, "../escape")
    assert escaped.profile.name == "escape"
    assert escaped.profile.host == "escape.example.org"
    assert escaped.notes[0].startswith("saved as 'escape': profile name '../escape'")


def test_missing_file_is_a_clear_error(home: Path) -> None:
    missing = home / "nope"
    with pytest.raises(ConfigError) as caught:
        read_ssh_config(missing)
    assert str(caught.value) == f"no ssh config at {missing}; give the file to import as FILE"


def test_parse_error_names_file_and_line(home: Path) -> None:
    broken = home / ".ssh" / "broken_config"
    with pytest.raises(ConfigError) as caught:
        read_ssh_config(broken)
    assert str(caught.value) == (
        f"cannot import {broken}: {broken} line 3: Invalid Port integer value: twenty-two"
    )


def test_existing_profiles_are_kept_unless_overwrite(plan: ImportPlan, store: ProfileStore) -> None:
    first = save_plan(store, plan, overwrite=False)
    assert len(first.imported) == 8
    store.save(Profile(name="web", host="mine.example.org"), replace=True)

    again = save_plan(store, plan, overwrite=False)
    assert again.imported == []
    assert ("web", "profile 'web' already exists; use --overwrite to replace it") in [
        (item.source, item.reason) for item in again.skipped
    ]
    assert store.load("web").host == "mine.example.org"

    save_plan(store, plan, overwrite=True)
    assert store.load("web") == entry(plan, "web").profile


def test_forward_options_are_imported_and_bad_ones_noted(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text(
        "Host db\n  HostName 10.0.0.5\n"
        "  LocalForward 5432 localhost:5432\n"
        "  LocalForward [::1]:8080 web:80\n"
        "  RemoteForward 9000 localhost:22\n"
        "  DynamicForward 1080\n"
        "  LocalForward 1080 dup:1\n"
        "  LocalForward 8081\n"
        "Host bare\n  HostName 10.0.0.6\n  LocalForward 1 a:1\n  ClearAllForwardings yes\n"
    )
    plan = read_ssh_config(config)
    db = entry(plan, "db")
    # in file order per option, local, remote then dynamic
    assert [forward.flag for forward in db.profile.forwards] == [
        "-L 5432:localhost:5432",
        "-L [::1]:8080:web:80",
        "-L 1080:dup:1",
        "-R 9000:localhost:22",
    ]
    assert db.notes == (
        "LocalForward left out: '8081': -L takes [bind_address:]port:host:hostport",
        "DynamicForward left out: -L 1080:dup:1 and -D 1080 both listen on localhost:1080; "
        "give one of them another port",
    )
    assert entry(plan, "bare").profile.forwards == ()


def test_host_key_options_are_imported(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text(
        "Host box\n  HostName box.example.org\n  HostKeyAlias castle\n"
        "  StrictHostKeyChecking accept-new\n  UserKnownHostsFile ~/kh1 ~/kh2\n"
        "  GlobalKnownHostsFile /etc/kh\n"
        "Host odd\n  StrictHostKeyChecking maybe\n"
    )
    plan = read_ssh_config(config)
    box = entry(plan, "box").profile
    assert (box.host_key_alias, box.strict_host_key_checking) == ("castle", "accept-new")
    assert box.user_known_hosts_files == ("~/kh1", "~/kh2")
    assert box.global_known_hosts_files == ("/etc/kh",)
    odd = entry(plan, "odd")
    assert odd.profile.strict_host_key_checking is None
    assert odd.notes == (
        "StrictHostKeyChecking 'maybe' is not ask, yes, accept-new or no: left unset (ask)",
    )

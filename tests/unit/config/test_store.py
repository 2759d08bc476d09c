"""ProfileStore on real files: round trips, atomic private writes, comments kept, bad files."""

from __future__ import annotations

import dataclasses
import os
import stat
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from termkeep.config.errors import (
    ConfigError,
    ProfileExistsError,
    ProfileLoadError,
    ProfileNotFoundError,
)
from termkeep.config.forwards import Forward, ForwardKind, parse_flag
from termkeep.config.profile import (
    InvalidProfileNameError,
    KeepaliveSettings,
    Profile,
    TcpSettings,
    TmuxSettings,
)
from termkeep.config.schema import KEYS, Kind, check_profile
from termkeep.config.store import ProfileStore
from termkeep.platform.files import write_private_file

WEB = Profile(
    name="web",
    host="web.example.org",
    port=2222,
    user="alice",
    identity_files=("~/.ssh/id_ed25519",),
    jump="bastion",
    keepalive=KeepaliveSettings(interval=10.0, count_max=4),
    tcp=TcpSettings(keepalive=False),
    tmux=TmuxSettings(session="work"),
)

COMMENTED = textwrap.dedent(
    """\
    # My web server. Ask Bob before changing the port.
    host = "web.example.org"
    port = 2222          # firewall only lets this through
    user = "alice"

    # Keepalive tuned for the flaky office Wi-Fi.
    [keepalive]
    interval = 5         # the default, written down on purpose
    """
)


def hosts_files(store: ProfileStore) -> list[str]:
    return sorted(entry.name for entry in store.directory.iterdir())


def test_store_lives_under_the_config_dir_override(store: ProfileStore, config_dir: Path) -> None:
    assert store.directory == config_dir / "hosts"
    assert store.save(WEB) == config_dir / "hosts" / "web.toml"


def test_round_trip(store: ProfileStore) -> None:
    store.save(WEB)
    assert store.load("web") == WEB
    assert store.names() == ["web"]
    assert store.exists("web")


def test_new_file_is_private_and_short(store: ProfileStore) -> None:
    path = store.save(WEB)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.directory.stat().st_mode) == 0o700
    text = path.read_text()
    assert text.startswith("# termkeep host profile")
    # Defaults are not written, so later versions can improve them.
    assert "count = " not in text
    assert "[reconnect]" not in text
    assert hosts_files(store) == ["web.toml"]  # no temp file left behind


def test_edit_keeps_comments_and_layout(store: ProfileStore) -> None:
    path = store.path_for("web")
    path.parent.mkdir(parents=True)
    path.write_text(COMMENTED)
    edited = dataclasses.replace(store.load("web"), user="bob", port=22)
    store.save(edited, replace=True)
    # Only the two values changed; comments, blank lines and the default value the user
    # wrote down on purpose all stay.
    assert path.read_text() == COMMENTED.replace("port = 2222", "port = 22").replace(
        '"alice"', '"bob"'
    )
    assert store.load("web") == edited


def test_edit_adds_changed_keys_and_removes_unset_ones(store: ProfileStore) -> None:
    path = store.path_for("web")
    path.parent.mkdir(parents=True)
    path.write_text(COMMENTED)
    edited = dataclasses.replace(
        store.load("web"), user=None, tmux=TmuxSettings(session="main"), term="screen"
    )
    store.save(edited, replace=True)
    text = path.read_text()
    assert "user" not in text
    assert 'term = "screen"' in text
    assert '[tmux]\nsession = "main"' in text
    assert store.load("web") == edited


def test_saving_an_unchanged_profile_changes_no_byte(store: ProfileStore) -> None:
    path = store.path_for("web")
    path.parent.mkdir(parents=True)
    path.write_text(COMMENTED)
    store.save(store.load("web"), replace=True)
    assert path.read_text() == COMMENTED


def test_existing_profile_needs_replace(store: ProfileStore) -> None:
    store.save(WEB)
    with pytest.raises(ProfileExistsError, match="'web' already exists"):
        store.save(dataclasses.replace(WEB, port=22))
    assert store.load("web") == WEB


def test_broken_toml_names_file_and_line(store: ProfileStore) -> None:
    path = store.path_for("broken")
    path.parent.mkdir(parents=True)
    path.write_text('host = "a"\nport = \n')
    with pytest.raises(ProfileLoadError) as caught:
        store.load("broken")
    assert str(caught.value) == f"{path}:2: broken TOML at column 8: Invalid value; fix this line"


def test_one_bad_file_never_hides_the_others_and_is_never_rewritten(store: ProfileStore) -> None:
    store.save(WEB)
    store.save(Profile(name="db", host="db.example.org"))
    broken = store.path_for("broken")
    broken.write_text('host = "a"\nport = \n')
    unknown = store.path_for("typo")
    unknown.write_text('host = "a"\n[tmux]\nsesion = "x"\n')
    not_utf8 = store.path_for("latin1")
    not_utf8.write_bytes(b'host = "caf\xe9"\n')
    before = {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in (broken, unknown)}

    result = store.load_all()

    assert [profile.name for profile in result.profiles] == ["db", "web"]
    assert [str(issue) for issue in result.errors] == [
        f"{broken}:2: broken TOML at column 8: Invalid value; fix this line",
        f"{not_utf8}:1: not UTF-8 text: byte 0xe9 at column 12 (was it saved as Latin-1?); "
        "save the file as UTF-8",
        f"{unknown}:3: unknown key 'tmux.sesion'; did you mean 'tmux.session'?",
    ]
    after = {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in (broken, unknown)}
    assert after == before


def test_a_file_that_does_not_load_is_never_overwritten(store: ProfileStore) -> None:
    path = store.path_for("typo")
    path.parent.mkdir(parents=True)
    path.write_text('host = "a"\nprot = 22\n')
    with pytest.raises(ConfigError, match="not overwriting a file that does not load"):
        store.save(Profile(name="typo", host="b"), replace=True)
    assert path.read_text() == 'host = "a"\nprot = 22\n'


def test_hidden_and_foreign_files_are_not_profiles(store: ProfileStore) -> None:
    store.save(WEB)
    (store.directory / ".web.toml.abc.tmp").write_text("half a write")
    (store.directory / "notes.txt").write_text("not a profile")
    (store.directory / "web.toml~").write_text("editor backup")
    assert store.names() == ["web"]
    assert store.load_all().errors == []


def test_file_with_an_invalid_name_is_reported(store: ProfileStore) -> None:
    store.directory.mkdir(parents=True)
    (store.directory / "a..b.toml").write_text('host = "a"\n')
    (issue,) = store.load_all().errors
    assert str(issue).endswith("profile name 'a..b' must not contain '..'; rename the file")


@pytest.mark.parametrize("name", ["", "../evil", "a/b", "..", ".hidden", "tab\there", " pad"])
def test_unusable_names_are_refused_before_touching_disk(store: ProfileStore, name: str) -> None:
    with pytest.raises(InvalidProfileNameError):
        store.save(dataclasses.replace(WEB, name=name))
    assert not store.directory.exists()


def test_invalid_values_are_refused_and_nothing_is_written(store: ProfileStore) -> None:
    with pytest.raises(ProfileLoadError, match="'port' must be from 1 to 65535"):
        store.save(dataclasses.replace(WEB, port=0))
    assert not store.path_for("web").exists()


def test_delete(store: ProfileStore) -> None:
    store.save(WEB)
    store.delete("web")
    assert store.names() == []
    with pytest.raises(ProfileNotFoundError, match="no profile named 'web'"):
        store.delete("web")


def test_rename_never_replaces_another_profile(store: ProfileStore) -> None:
    store.save(WEB)
    store.save(Profile(name="db", host="db.example.org"))
    with pytest.raises(ProfileExistsError):
        store.rename("web", "db")
    assert store.load("db").host == "db.example.org"
    target = store.rename("web", "www")
    assert store.names() == ["db", "www"]
    assert store.load("www") == dataclasses.replace(WEB, name="www")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    with pytest.raises(ProfileNotFoundError):
        store.rename("web", "again")


def test_symlinked_profile_stays_a_symlink(store: ProfileStore, tmp_path: Path) -> None:
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    real = dotfiles / "web.toml"
    real.write_text('host = "web.example.org"  # kept in git\n')
    store.directory.mkdir(parents=True)
    store.path_for("web").symlink_to(real)

    store.save(dataclasses.replace(store.load("web"), port=2222), replace=True)

    assert store.path_for("web").is_symlink()
    assert real.read_text() == 'host = "web.example.org"  # kept in git\nport = 2222\n'
    assert sorted(entry.name for entry in dotfiles.iterdir()) == ["web.toml"]


def test_creating_never_clobbers_a_file_that_appeared_meanwhile(tmp_path: Path) -> None:
    path = tmp_path / "web.toml"
    path.write_text("someone else's\n")
    with pytest.raises(FileExistsError):
        write_private_file(path, "mine\n", replace=False)
    assert path.read_text() == "someone else's\n"
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["web.toml"]


FAILING_WRITE = textwrap.dedent(
    """\
    import resource, sys
    from termkeep.config.profile import Profile
    from termkeep.config.errors import ConfigError
    from termkeep.config.store import ProfileStore
    # Files may not grow past 16 bytes: the kernel fails the write with EFBIG, a real I/O
    # failure that even root cannot bypass (a read-only directory does not stop root).
    resource.setrlimit(resource.RLIMIT_FSIZE, (16, resource.RLIM_INFINITY))
    try:
        ProfileStore().save(Profile(name="web", host="new.example.org"), replace=True)
    except ConfigError as error:
        print(error)
        sys.exit(1)
    """
)


def test_failed_write_leaves_the_original_intact_and_no_temp_file(store: ProfileStore) -> None:
    original = store.save(WEB).read_bytes()
    result = subprocess.run(
        [sys.executable, "-c", FAILING_WRITE],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ.copy(),
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    assert result.stdout.strip() == (
        f"cannot write {store.path_for('web')}: File too large; the previous file is unchanged"
    )
    assert store.path_for("web").read_bytes() == original
    assert hosts_files(store) == ["web.toml"]


# Ranges valid for every key of a kind, plus the keys whose ranges do not overlap the rest;
# no .filter(), so hypothesis never runs out of valid examples.
_RANGE_OVERRIDES: dict[str, st.SearchStrategy[object]] = {
    "port": st.integers(1, 65535),
    "reconnect.jitter": st.floats(0, 1),
    "reconnect.multiplier": st.floats(1, 10),
    "predict": st.sampled_from(["adaptive", "always", "never"]),
    "paste_confirm": st.sampled_from(["multiline", "never"]),
    "notify": st.sampled_from(["off", "bell", "done", "all"]),
    "log": st.sampled_from(["off", "output", "raw"]),
    "strict_host_key_checking": st.sampled_from(["ask", "yes", "accept-new", "no"]),
    "agent_forwarding_socket": st.text(
        st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="$%"),
        min_size=1,
        max_size=12,
    ),
}


def _forwards(word: st.SearchStrategy[str]) -> st.SearchStrategy[object]:
    """Up to three forwards of any kind, on distinct listen ports (the one cross-entry rule)."""
    host = word.filter(lambda text: "[" not in text and "]" not in text)
    one = st.builds(
        Forward,
        st.sampled_from(list(ForwardKind)),
        st.integers(1, 65535),
        st.none() | host,
        host,
        st.integers(1, 65535),
    ).map(
        lambda forward: (
            dataclasses.replace(forward, dest_host=None, dest_port=None)
            if forward.kind is ForwardKind.DYNAMIC
            else forward
        )
    )
    return st.lists(one, max_size=3, unique_by=lambda forward: forward.listen_port).map(tuple)


def _value_strategy(key: str) -> st.SearchStrategy[object]:
    word = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=12)
    by_kind: dict[Kind, st.SearchStrategy[object]] = {
        Kind.BOOL: st.booleans(),
        Kind.INT: st.integers(1, 100),
        Kind.FLOAT: st.floats(0.001, 300),
        Kind.STR: word,
        Kind.STR_LIST: st.lists(word, max_size=3).map(tuple),
        Kind.FORWARDS: _forwards(word),
    }
    strategy = _RANGE_OVERRIDES.get(key, by_kind[KEYS[key].kind])
    return st.none() | strategy if KEYS[key].optional else strategy


@st.composite
def valid_profiles(draw: st.DrawFn) -> Profile:
    """Any profile the rules accept, built by drawing every key."""
    data: dict[str, dict[str, object]] = {"": {}}
    for key in KEYS:
        section, _, leaf = key.rpartition(".")
        data.setdefault(section, {})[leaf] = draw(_value_strategy(key))
    top = data.pop("")
    sections = {name: type(getattr(Profile(name="x", host="x"), name)) for name in data}
    nested = {name: sections[name](**values) for name, values in data.items()}
    # Each value is valid on its own; the cross-field rules are met by ordering the delays
    # (and by forwarding the agent when a socket is drawn, below).
    delays = sorted([nested["reconnect"].initial_delay, nested["reconnect"].max_delay])
    nested["reconnect"] = dataclasses.replace(
        nested["reconnect"], initial_delay=delays[0], max_delay=delays[1]
    )
    if top["agent_forwarding_socket"] is not None:  # a socket needs the agent forwarded
        top["agent_forwarding"] = True
    profile = Profile(name="p", **top, **nested)  # type: ignore[arg-type]
    return check_profile(profile, "generated")


@settings(max_examples=40, deadline=None)
@given(first=valid_profiles(), second=valid_profiles())
def test_any_valid_profile_survives_save_and_edit(first: Profile, second: Profile) -> None:
    with tempfile.TemporaryDirectory() as directory:
        _save_edit_reload(ProfileStore(Path(directory) / "hosts"), first, second)


def _save_edit_reload(store: ProfileStore, first: Profile, second: Profile) -> None:
    store.save(first)
    assert store.load("p") == first
    store.save(second, replace=True)
    assert store.load("p") == second


def test_forwards_are_written_as_tables_and_read_back(store: ProfileStore) -> None:
    forwards = (
        parse_flag("-L", "8080:db.internal:5432"),
        parse_flag("-R", "192.0.2.1:9000:localhost:22"),
        parse_flag("-D", "1080"),
    )
    profile = dataclasses.replace(WEB, forwards=forwards)
    store.save(profile)
    text = store.path_for("web").read_text()
    assert text.count("[[forwards]]") == 3
    assert 'kind = "remote"\nlisten_address = "192.0.2.1"\nlisten_port = 9000' in text
    assert store.load("web") == profile


def test_an_old_port_forwardings_list_loads_and_is_rewritten_as_tables(
    store: ProfileStore,
) -> None:
    store.directory.mkdir(parents=True)
    store.path_for("old").write_text(
        '# from an older termkeep\nhost = "h"\nport_forwardings = ["L8080=db:5432", "4D1080"]\n'
    )
    profile = store.load("old")
    assert [forward.flag for forward in profile.forwards] == [
        "-L 8080:db:5432",
        "-D 127.0.0.1:1080",
    ]
    store.save(dataclasses.replace(profile, port=2200), replace=True)
    text = store.path_for("old").read_text()
    assert "port_forwardings" not in text
    assert text.startswith("# from an older termkeep\n")
    assert store.load("old") == dataclasses.replace(profile, port=2200)


def test_an_old_port_forwardings_list_counts_as_set_so_a_form_keeps_it(
    store: ProfileStore,
) -> None:
    """An editor saves exactly the keys the file sets: the old notation is one of them."""
    store.directory.mkdir(parents=True)
    store.path_for("old").write_text('host = "h"\nport_forwardings = ["L8080=db:5432"]\n')
    stored = store.read("old")
    assert stored.explicit_keys == {"host", "forwards"}
    edited = dataclasses.replace(stored.profile, port=2200)
    store.save(edited, replace=True, keys={*stored.explicit_keys, "port"})
    assert store.load("old") == edited
    assert "[[forwards]]" in store.path_for("old").read_text()


def test_bad_forwards_in_a_file_name_the_entry_and_line(store: ProfileStore) -> None:
    store.directory.mkdir(parents=True)
    store.path_for("bad").write_text(
        'host = "h"\n\n[[forwards]]\nkind = "local"\nlisten_port = 8080\n'
        'dest_host = "db"\ndest_port = 5432\n\n[[forwards]]\nkind = "dynamic"\nlisten_port = 8080\n'
    )
    with pytest.raises(ProfileLoadError) as caught:
        store.load("bad")
    assert str(caught.value).endswith(
        "bad.toml:3: 'forwards' -L 8080:db:5432 and -D 8080 both listen on localhost:8080; "
        "give one of them another port"
    )
    store.path_for("bad").write_text('host = "h"\nport_forwardings = ["L8080"]\n')
    with pytest.raises(ProfileLoadError) as caught:
        store.load("bad")
    assert "'port_forwardings': PuTTY forward 'L8080': the destination must be host:port" in str(
        caught.value
    )


def test_a_form_sets_exactly_its_keys_and_clearing_one_returns_to_the_default(
    store: ProfileStore,
) -> None:
    """An editor passes the keys its form sets: the file then holds exactly those."""
    path = store.path_for("web")
    path.parent.mkdir(parents=True)
    path.write_text(COMMENTED + "\n[tcp]\nidle = 20\n")
    edited = dataclasses.replace(
        store.load("web"), keepalive=KeepaliveSettings(), tcp=TcpSettings(nodelay=True)
    )
    store.save(edited, replace=True, keys={"host", "port", "user", "tcp.nodelay"})
    text = path.read_text()
    assert "interval" not in text  # cleared: back to the default, which may change later
    assert "nodelay = true" in text  # set in the form, so written though it is the default
    assert "[tcp]" in text
    assert "idle" not in text
    assert "[keepalive]" not in text  # emptied: its header goes, every comment stays
    assert text.startswith(COMMENTED.split("[keepalive]")[0])
    assert store.read("web").explicit_keys == {"host", "port", "user", "tcp.nodelay"}


def test_a_section_left_empty_is_removed(store: ProfileStore) -> None:
    store.save(dataclasses.replace(WEB, tcp=TcpSettings(idle=20)))
    store.save(WEB, replace=True, keys={"host"})
    text = store.path_for("web").read_text()
    assert "[tcp]" not in text
    assert "[tmux]" not in text
    assert store.load("web") == Profile(name="web", host=WEB.host)

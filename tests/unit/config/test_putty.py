"""PuTTY saved sessions (tests/data/putty) imported into profiles on real files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from termkeep.config.errors import ConfigError
from termkeep.config.importing import ImportedEntry, ImportPlan, save_plan
from termkeep.config.putty import (
    decode_session_name,
    parse_session,
    putty_dir,
    read_putty_sessions,
    resolve_sessions_dir,
    session_to_profile,
    sessions_dir,
)
from termkeep.config.store import ProfileStore
from tests.unit.config.conftest import DATA_DIR

SAMPLE = DATA_DIR / "putty"


@pytest.fixture(scope="module")
def plan() -> ImportPlan:
    return read_putty_sessions(SAMPLE / "sessions")


def entry(plan: ImportPlan, source: str) -> ImportedEntry:
    (found,) = [item for item in plan.entries if item.source == source]
    return found


def test_lookup_prefers_puttydir_then_xdg_then_dot_putty(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert putty_dir({}, home) == home / ".putty"
    (home / ".config" / "putty").mkdir(parents=True)
    assert putty_dir({}, home) == home / ".config" / "putty"
    assert putty_dir({"PUTTYDIR": str(tmp_path / "p")}, home) == tmp_path / "p"
    assert sessions_dir({}, home) == home / ".config" / "putty" / "sessions"
    assert sessions_dir({"PUTTYSESSIONS": str(tmp_path / "s")}, home) == tmp_path / "s"


def test_dir_argument_may_be_puttys_dir_or_its_sessions_dir() -> None:
    assert resolve_sessions_dir(SAMPLE) == SAMPLE / "sessions"
    assert resolve_sessions_dir(SAMPLE / "sessions") == SAMPLE / "sessions"


def test_default_lookup_uses_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUTTYDIR", str(SAMPLE))
    assert resolve_sessions_dir(None) == SAMPLE / "sessions"


@pytest.mark.parametrize(
    ("file_name", "session"),
    [
        ("My%20Server", "My Server"),
        ("old%2Frouter", "old/router"),
        ("caf%C3%A9", "café"),
        ("plain.example.org", "plain.example.org"),
    ],
)
def test_file_names_are_decoded(file_name: str, session: str) -> None:
    assert decode_session_name(file_name) == session


def test_values_keep_everything_after_the_first_equals_sign() -> None:
    assert parse_session("PortForwardings=L80=h:80\nbroken line\n=x\n") == {
        "PortForwardings": "L80=h:80"
    }


def test_ssh_session_maps_host_port_user_forwardings_and_summed_ping(plan: ImportPlan) -> None:
    imported = entry(plan, "My Server")
    profile = imported.profile
    assert profile.name == "My Server"  # spaces inside a name are fine
    assert (profile.host, profile.port, profile.user) == ("files.example.org", 2022, "alice")
    assert profile.keepalive.interval == 90.0  # PingInterval=1 minute + PingIntervalSecs=30
    assert profile.tcp.keepalive is True
    assert profile.agent_forwarding is True
    assert [forward.flag for forward in profile.forwards] == [
        "-L 8080:localhost:80",
        "-R 2222:localhost:22",
        "-D 1080",
    ]


def test_ppk_key_points_at_the_converted_key_with_the_command(plan: ImportPlan) -> None:
    imported = entry(plan, "My Server")
    assert imported.profile.identity_files == ("/home/alice/keys/files",)
    (note,) = [note for note in imported.notes if note.startswith("key ")]
    assert note.startswith("key /home/alice/keys/files.ppk is in PuTTY's .ppk format")
    assert (
        "`puttygen /home/alice/keys/files.ppk -O private-openssh -o /home/alice/keys/files`" in note
    )


def test_invalid_names_are_renamed_and_the_report_says_so(plan: ImportPlan) -> None:
    escaped = entry(plan, "../escape")
    assert escaped.profile.name == "escape"
    assert (
        escaped.notes[0]
        == "saved as 'escape': profile name '../escape' must not contain '/' or '\\'"
    )


def test_a_valid_name_wins_over_a_renamed_one(plan: ImportPlan) -> None:
    assert entry(plan, "web-prod").profile.name == "web-prod"
    renamed = entry(plan, "web/prod")
    assert renamed.profile.name == "web-prod-2"
    assert renamed.notes[0] == (
        "saved as 'web-prod-2': profile name 'web/prod' must not contain '/' or '\\'; "
        "'web-prod' is already used by another entry"
    )


def test_puttys_off_defaults_keep_termkeeps_keepalive(plan: ImportPlan) -> None:
    imported = entry(plan, "My-Server")
    assert imported.profile.keepalive.interval == 5.0
    assert imported.profile.tcp.keepalive is True
    assert imported.profile.identity_files == ("/home/alice/.ssh/id_ed25519",)
    assert imported.profile.user is None
    assert any("PuTTY keepalives were off" in note for note in imported.notes)
    assert any("PuTTY TCP keepalives were off" in note for note in imported.notes)


def test_user_at_host_and_seconds_only_ping(plan: ImportPlan) -> None:
    profile = entry(plan, "build.example.org").profile
    assert (profile.user, profile.host, profile.port) == ("bob", "build.example.org", 22)
    assert profile.keepalive.interval == 45.0


def test_non_ssh_template_and_broken_sessions_are_skipped_with_reasons(plan: ImportPlan) -> None:
    assert {item.source: item.reason for item in plan.skipped} == {
        "Default Settings": "PuTTY's template for new sessions, not a host",
        "old/router": "protocol 'telnet', not SSH",
        "console": "protocol 'serial', not SSH",
        "empty": "no HostName",
        "broken port": "PortNumber='twenty-two' is not a number",
        "huge port": "'port' must be from 1 to 65535",
    }


def test_unicode_session_name_is_kept(plan: ImportPlan) -> None:
    assert entry(plan, "café").profile.name == "café"


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no PuTTY sessions directory at"):
        read_putty_sessions(tmp_path / "nowhere")


def test_saved_profiles_load_back_and_existing_ones_are_kept(
    plan: ImportPlan, store: ProfileStore
) -> None:
    store.save(entry(plan, "café").profile)
    kept = store.path_for("café").read_bytes()

    report = save_plan(store, plan, overwrite=False)

    assert {item.profile.name for item in report.imported} == {
        "My Server",
        "My-Server",
        "build.example.org",
        "escape",
        "web-prod",
        "web-prod-2",
    }
    assert "café" in {item.source for item in report.skipped}
    assert store.path_for("café").read_bytes() == kept
    for item in report.imported:
        assert store.load(item.profile.name) == item.profile


def test_overwrite_replaces_existing_profiles(
    plan: ImportPlan, store: ProfileStore, tmp_path: Path
) -> None:
    sessions = tmp_path / "sessions"
    shutil.copytree(SAMPLE / "sessions", sessions)
    save_plan(store, read_putty_sessions(sessions), overwrite=False)
    (sessions / "build.example.org").write_text("HostName=new.example.org\nProtocol=ssh\n")

    report = save_plan(store, read_putty_sessions(sessions), overwrite=True)

    assert "build.example.org" in {item.source for item in report.imported}
    assert store.load("build.example.org").host == "new.example.org"


def test_forwards_keep_family_prefixes_and_accept_all_and_skip_bad_entries() -> None:
    notes: list[str] = []
    session = {
        "HostName": "h",
        "PortForwardings": "4L8080=db:80,6D1080,R9000=localhost:22,Lnope=x:1,D8080",
        "LocalPortAcceptAll": "0",
        "RemotePortAcceptAll": "1",
    }
    profile = session_to_profile("s", session, notes)
    assert [forward.flag for forward in profile.forwards] == [
        "-L 127.0.0.1:8080:db:80",
        "-D [::1]:1080",
        "-R *:9000:localhost:22",  # "Remote ports do the same" is PuTTY's GatewayPorts
        "-D 8080",
    ]
    assert "port forwarding left out: 'Lnope=x:1': port 'nope' is not a port number" in notes
    everywhere = session_to_profile("s", {**session, "LocalPortAcceptAll": "1"}, [])
    assert everywhere.forwards[-1].flag == "-D *:8080"
    assert everywhere.forwards[0].flag == "-L 127.0.0.1:8080:db:80"  # an address given wins


@pytest.mark.parametrize(
    ("agent", "x11"), [("0", "0"), ("1", "0"), ("0", "1"), ("1", "1")], ids=str
)
def test_agent_and_x11_forwarding_are_imported_and_each_one_on_is_reported(
    tmp_path: Path, agent: str, x11: str
) -> None:
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    (sessions / "fwd").write_text(
        f"HostName=h.example.org\nAgentFwd={agent}\nX11Forward={x11}\n"
        "PingInterval=1\nTCPKeepalives=1\n"
    )
    [imported] = read_putty_sessions(sessions).entries
    profile = imported.profile
    assert (profile.agent_forwarding, profile.x11_forwarding) == (agent == "1", x11 == "1")
    expected = []
    if agent == "1":
        expected.append(
            "agent forwarding is on, as in PuTTY (AgentFwd=1): while connected, the server can "
            "use the keys in your local SSH agent; set agent_forwarding = false in the profile "
            "unless you need it there"
        )
    if x11 == "1":
        expected.append(
            "X11 forwarding is on, as in PuTTY (X11Forward=1): programs on the server can open "
            "windows on your display and read what it shows and what you type; set "
            "x11_forwarding = false in the profile unless you need it there"
        )
    assert list(imported.notes) == expected

"""A tab's session log across a real silent drop, on the real sshd and tmux: what the remote
printed, a line at the drop and one at the reattach, and never what was typed at a prompt
without echo (``read -s``)."""

from __future__ import annotations

from pathlib import Path

from termkeep.config.profile import Profile
from termkeep.config.settings import LogMode
from termkeep.session.tab_session import Session
from termkeep.supervisor.updates import Notice
from termkeep.transport.prompts import NoPrompter
from tests.fixtures.full_disk import no_room_to_grow_files
from tests.fixtures.netns import NetnsSshServer
from tests.fixtures.tmux_pane import termkeep_command, tmux_pane
from tests.integration.test_cli_e2e import ATTACH, RECOVER, save_profile
from tests.integration.test_reconnect import ATTACH_WAIT, RECOVERY_WAIT, Watch, reconnect_profile

SECRET = "hunter2-not-logged"


async def test_the_log_keeps_output_and_outages_but_no_keystrokes(
    netns_sshd: NetnsSshServer, tmp_path: Path
) -> None:
    session = Session(
        reconnect_profile(netns_sshd),
        NoPrompter(),
        size=(100, 30),
        log=LogMode.OUTPUT,
        log_pattern=str(tmp_path / "logs" / "&P.log"),
    )
    watch = Watch(session)
    await session.start()
    try:
        await watch.until(lambda: watch.state == "attached", ATTACH_WAIT, "the attach")
        # read -s as dash spells it: a prompt that does not echo what is typed. The prompt is
        # spelled apart, so seeing it means the command ran, not just its echo.
        await watch.run("stty -echo; printf '%s%s' pa 'ss: '; read pw; stty echo", "pass:")
        session.write(SECRET.encode() + b"\r")
        await watch.run("echo got-${#pw}", f"got-{len(SECRET)}")
        with netns_sshd.blackhole():
            await watch.until(lambda: watch.state != "attached", RECOVERY_WAIT, "the stall")
            await watch.until(lambda: watch.state == "reconnecting", RECOVERY_WAIT, "the drop")
        await watch.until(lambda: watch.state == "attached", RECOVERY_WAIT, "the reattach")
        await watch.run("echo after-$((40+2))", "after-42")
        log_path = session.log.path
    finally:
        await session.close()

    assert log_path == tmp_path / "logs" / "reconnect-test.log"
    text = log_path.read_text()
    assert f"got-{len(SECRET)}" in text
    assert "after-42" in text
    assert SECRET not in text
    assert "\x1b" not in text  # output mode: no escape sequences
    lines = text.splitlines()
    assert any(line.startswith("[termkeep ") and "connection lost" in line for line in lines)
    assert any(line.startswith("[termkeep ") and "reattached after" in line for line in lines)
    assert lines[-1].endswith("log stopped")


def _log_session(pattern: str) -> tuple[Session, list[str]]:
    session = Session(
        Profile(name="full", host="127.0.0.1"),
        NoPrompter(),
        log=LogMode.RAW,
        log_pattern=pattern,
    )
    notices: list[str] = []
    session.supervisor.add_listener(
        lambda update: notices.append(update.text) if isinstance(update, Notice) else None
    )
    return session, notices


async def test_a_log_that_cannot_be_written_stops_and_says_so(tmp_path: Path) -> None:
    session, notices = _log_session(str(tmp_path / "full.log"))
    try:
        with no_room_to_grow_files():
            session.log.start()  # the file opens; its first line fails to be written
        assert session.log.path is None
        assert notices == ["session log stopped: File too large"]
        session.log.stop()  # nothing left to stop: no error
    finally:
        await session.close()


async def test_a_log_path_that_is_not_the_user_s_regular_file_is_a_notice(
    tmp_path: Path,
) -> None:
    target = tmp_path / "precious"
    target.write_text("keep")
    link = tmp_path / "planted.log"
    link.symlink_to(target)
    for path, reason in ((link, "is a symbolic link"), (Path("/dev/full"), "is a character")):
        session, notices = _log_session(str(path))
        try:
            session.log.start_if_asked()  # as a tab or 'termkeep attach' starts it
            assert session.log.path is None
            [notice] = notices
            assert notice.startswith(f"no session log: {path}: {reason}")
            assert notice.endswith("writes logs only to regular files of your own; remove it")
        finally:
            await session.close()
    assert target.read_text() == "keep"


def test_termkeep_attach_keeps_the_log_the_settings_ask_for(
    netns_sshd: NetnsSshServer, tmp_path: Path, config_dir: Path
) -> None:
    save_profile(config_dir, netns_sshd)
    (config_dir / "settings.toml").write_text(
        f'log = "output"\nlog_path = "{tmp_path}/logs/&P-attach.log"\n'
    )
    with tmux_pane(termkeep_command("attach", "e2e")) as pane:
        pane.type("stty -echo; printf '%s%s' pa 'ss: '; read pw; stty echo")
        pane.wait_for("pass:", timeout=ATTACH)
        pane.type(SECRET)
        pane.type("echo got-${#pw}")
        pane.wait_for(f"got-{len(SECRET)}", timeout=ATTACH)
        netns_sshd.kill_connections()
        pane.wait_for("[termkeep] connection lost", timeout=RECOVER)
        pane.type("clear; echo after-$((40+2))")
        pane.wait_for("after-42", timeout=RECOVER)
        pane.keys("Enter", "~", ".")
        pane.wait_for("TERMKEEP-EXIT=255", timeout=ATTACH, what="the attach to end")
    text = (tmp_path / "logs" / "e2e-attach.log").read_text()
    assert f"got-{len(SECRET)}" in text
    assert "after-42" in text
    assert SECRET not in text
    lines = text.splitlines()
    assert any("connection lost" in line for line in lines if line.startswith("[termkeep "))
    assert lines[-1].endswith("log stopped")

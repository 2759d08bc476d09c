"""Host key policy on real key files: lookup with line numbers, trust on first use, saving,
and refusing a changed key for good."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import asyncssh
import pytest

from termkeep.transport.hostkeys import (
    HostKeyPolicy,
    fingerprint,
    host_pattern,
    known_hosts_line,
)
from termkeep.transport.link import Cause, ConnectFailedError
from termkeep.transport.prompts import HostKeyDecision, NoPrompter


class AnsweringPrompter(NoPrompter):
    """A user who gives one answer to host key questions."""

    def __init__(self, answer: HostKeyDecision) -> None:
        super().__init__()
        self.answer = answer
        self.questions: list[tuple[str, int, str, str]] = []

    async def unknown_host_key(
        self, host: str, port: int, key_type: str, fingerprint: str
    ) -> HostKeyDecision:
        self.questions.append((host, port, key_type, fingerprint))
        return self.answer


def new_key(kind: str = "ssh-ed25519") -> asyncssh.SSHKey:
    return asyncssh.generate_private_key(kind).convert_to_public()


def test_fingerprint_matches_ssh_keygen(tmp_path: Path) -> None:
    key = new_key()
    pub = tmp_path / "key.pub"
    pub.write_bytes(key.export_public_key())
    listed = subprocess.run(
        ["ssh-keygen", "-l", "-E", "sha256", "-f", str(pub)],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    assert fingerprint(key).startswith("SHA256:")
    assert fingerprint(key) in listed.stdout


@pytest.mark.parametrize(("port", "pattern"), [(22, "example.com"), (2222, "[example.com]:2222")])
def test_host_pattern(port: int, pattern: str) -> None:
    assert host_pattern("example.com", port) == pattern


@pytest.mark.parametrize("hashed", [True, False])
@pytest.mark.parametrize("port", [22, 2222])
def test_saved_line_is_found_by_openssh_and_asyncssh(
    tmp_path: Path, hashed: bool, port: int
) -> None:
    key = new_key()
    line = known_hosts_line("web.example.com", port, key, hashed=hashed)
    assert line.startswith("|1|") == hashed
    assert ("web.example.com" in line) != hashed
    path = tmp_path / "known_hosts"
    path.write_text(line + "\n")
    found = subprocess.run(
        ["ssh-keygen", "-F", host_pattern("web.example.com", port), "-f", str(path)],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    assert found.returncode == 0
    matched = asyncssh.import_known_hosts(line).match(
        "web.example.com", "", None if port == 22 else port
    )
    assert matched[0] == [key]


def test_check_reads_both_files_with_line_numbers(tmp_path: Path) -> None:
    user_file, profile_file = tmp_path / "user_known_hosts", tmp_path / "profile_known_hosts"
    web, other, extra = new_key(), new_key(), new_key("ecdsa-sha2-nistp256")
    user_file.write_text(
        "# a comment\n"
        "\n"
        "this line is garbage\n"
        f"{known_hosts_line('other.example.com', 22, other, hashed=False)}\n"
        f"{known_hosts_line('web.example.com', 22, web, hashed=True)}\n"
    )
    profile_file.write_text(f"{known_hosts_line('web.example.com', 22, extra, hashed=False)}\n")
    policy = HostKeyPolicy(NoPrompter(), profile_file=profile_file, user_file=user_file)
    check = policy.check("web.example.com", 22)
    assert [(e.path, e.line, e.key) for e in check.entries] == [
        (user_file, 5, web),
        (profile_file, 1, extra),
    ]
    assert check.host_key_algs[0] == "ssh-ed25519"
    assert "ecdsa-sha2-nistp256" in check.host_key_algs[:3]


def test_missing_files_mean_unknown_host(tmp_path: Path) -> None:
    policy = HostKeyPolicy(
        NoPrompter(), profile_file=tmp_path / "nope", user_file=tmp_path / "nada"
    )
    check = policy.check("web.example.com", 2222, "127.0.0.1")
    assert check.trusted_keys == []
    assert check.host_key_algs == "default"


async def test_no_prompter_refuses_an_unknown_key(tmp_path: Path) -> None:
    policy = HostKeyPolicy(NoPrompter(), user_file=tmp_path / "known_hosts")
    check = policy.check("web.example.com", 22)
    assert not check.validate(new_key())
    with pytest.raises(ConnectFailedError) as refused:
        await policy.resolve(check)
    assert refused.value.cause is Cause.HOST_KEY_UNKNOWN
    assert not (tmp_path / "known_hosts").exists()


async def test_accept_once_is_remembered_but_not_saved(tmp_path: Path) -> None:
    prompter = AnsweringPrompter(HostKeyDecision.ACCEPT_ONCE)
    policy = HostKeyPolicy(prompter, user_file=tmp_path / "known_hosts")
    key = new_key()
    check = policy.check("web.example.com", 22)
    check.validate(key)
    await policy.resolve(check)
    assert prompter.questions == [("web.example.com", 22, "ssh-ed25519", fingerprint(key))]
    assert not (tmp_path / "known_hosts").exists()
    again = policy.check("web.example.com", 22)
    assert key in again.trusted_keys
    # A different key later is a changed key, even though the first was never saved.
    again.validate(new_key())
    with pytest.raises(ConnectFailedError) as changed:
        await policy.resolve(again)
    assert changed.value.cause is Cause.HOST_KEY_CHANGED
    assert "accepted earlier in this session" in prompter.messages[0]


async def test_accept_and_save_creates_private_file(tmp_path: Path) -> None:
    save_to = tmp_path / "new_dir" / "known_hosts"
    policy = HostKeyPolicy(
        AnsweringPrompter(HostKeyDecision.ACCEPT_AND_SAVE),
        profile_file=save_to,
        user_file=tmp_path / "user_known_hosts",
    )
    key = new_key()
    check = policy.check("10.0.0.5", 2200)
    check.validate(key)
    await policy.resolve(check)
    assert stat.S_IMODE(save_to.stat().st_mode) == 0o600
    assert stat.S_IMODE(save_to.parent.stat().st_mode) == 0o700
    assert not (tmp_path / "user_known_hosts").exists()
    fresh = HostKeyPolicy(
        NoPrompter(), profile_file=save_to, user_file=tmp_path / "user_known_hosts"
    )
    assert fresh.check("10.0.0.5", 2200).trusted_keys == [key]


async def test_save_appends_and_keeps_existing_lines(tmp_path: Path) -> None:
    user_file = tmp_path / "known_hosts"
    user_file.write_text(
        "# keep me\nold.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFake"
    )  # no final newline
    policy = HostKeyPolicy(AnsweringPrompter(HostKeyDecision.ACCEPT_AND_SAVE), user_file=user_file)
    policy.hash_saved_hosts = False
    key = new_key()
    policy.save("web.example.com", 22, key)
    lines = user_file.read_text().splitlines()
    assert lines[:2] == ["# keep me", "old.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFake"]
    assert lines[2] == known_hosts_line("web.example.com", 22, key, hashed=False)


async def test_changed_key_is_refused_with_openssh_style_warning(tmp_path: Path) -> None:
    user_file = tmp_path / "known_hosts"
    old = new_key()
    user_file.write_text(f"{known_hosts_line('web.example.com', 2222, old, hashed=True)}\n")
    prompter = AnsweringPrompter(HostKeyDecision.ACCEPT_AND_SAVE)
    policy = HostKeyPolicy(prompter, user_file=user_file)
    check = policy.check("web.example.com", 2222)
    presented = new_key("ecdsa-sha2-nistp256")
    check.validate(presented)
    with pytest.raises(ConnectFailedError) as refused:
        await policy.resolve(check)
    assert refused.value.cause is Cause.HOST_KEY_CHANGED
    assert prompter.questions == []  # there is no way to accept a changed key
    (warning,) = prompter.messages
    assert "REMOTE HOST IDENTIFICATION HAS CHANGED" in warning
    assert fingerprint(presented) in warning
    assert f"{user_file}:1" in warning
    assert f"ssh-keygen -R '[web.example.com]:2222' -f {user_file}" in warning
    # From now on the host is refused before any connection is made.
    with pytest.raises(ConnectFailedError) as again:
        policy.check("web.example.com", 2222)
    assert again.value.cause is Cause.HOST_KEY_CHANGED
    assert user_file.read_text().count("\n") == 1

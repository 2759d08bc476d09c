"""Host key judgement on real key files, rule by rule (OpenSSH's rules; the differential
test against the ssh binary is tests/integration/test_hostkeys_differential.py): lookup by
``[host]:port``, the port-less fallback for an exact key only, HostKeyAlias, hashed names,
patterns and negation, @revoked, StrictHostKeyChecking, CheckHostIP, saving, and refusing a
changed key for good."""

from __future__ import annotations

import dataclasses
import os
import stat
import subprocess
from pathlib import Path

import asyncssh
import pytest

from termkeep.transport.hostkeys import (
    HostKeyCheck,
    HostKeyPolicy,
    HostKeySettings,
    Outcome,
    StrictHostKeyChecking,
    fingerprint,
    host_pattern,
    known_hosts_line,
)
from termkeep.transport.known_hosts import glob_matches, pattern_list_matches
from termkeep.transport.link import Cause, ConnectFailedError
from termkeep.transport.prompts import HostKeyDecision, NoPrompter

Strict = StrictHostKeyChecking


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


def line(name: str, key: asyncssh.SSHKey, marker: str = "") -> str:
    return f"{marker} {known_hosts_line(name, key, hashed=False)}".strip()


def settings_for(*files: Path, **changes: object) -> HostKeySettings:
    return dataclasses.replace(HostKeySettings(user_files=files, global_files=()), **changes)  # type: ignore[arg-type]


def check_with(
    tmp_path: Path,
    lines: list[str],
    host: str = "web.example.com",
    port: int = 2222,
    *,
    policy: HostKeyPolicy | None = None,
    address: str = "",
    **changes: object,
) -> HostKeyCheck:
    path = tmp_path / "known_hosts"
    path.write_text("".join(f"{text}\n" for text in lines))
    policy = policy or HostKeyPolicy(NoPrompter())
    return policy.check(settings_for(path, **changes), host, port, address)


def outcome(tmp_path: Path, lines: list[str], key: asyncssh.SSHKey, **kwargs: object) -> Outcome:
    check = check_with(tmp_path, lines, **kwargs)  # type: ignore[arg-type]
    check.validate(key)
    assert check.outcome is not None
    return check.outcome


# --- matching ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "pattern", "matches"),
    [
        ("web.example.com", "*.example.com", True),
        ("example.com", "*.example.com", False),
        ("web1", "web?", True),
        ("web12", "web?", False),
        ("[web]:2222", "[web]:2222", True),  # brackets are plain text, not a class
        ("[web]:2222", "[web]:*", True),
        ("w", "[w]", False),
        ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", "*a*a*a*a*a*a*a*a*a*a*c", False),
    ],
)
def test_glob_is_openssh_s(text: str, pattern: str, matches: bool) -> None:
    assert glob_matches(text, pattern) is matches


def test_a_matching_negation_vetoes_the_whole_list_and_case_does_not_matter() -> None:
    assert pattern_list_matches("web.example.com", "*.EXAMPLE.com,other")
    assert not pattern_list_matches("web.example.com", "*.example.com,!web.example.com")
    assert not pattern_list_matches("web.example.com", "!other")  # only negations: no match
    assert pattern_list_matches("db.example.com", "*.example.com,!web.example.com")


# --- the judgement -------------------------------------------------------------------------


def test_lookup_is_by_host_and_port_as_openssh_writes_them(tmp_path: Path) -> None:
    key = new_key()
    assert outcome(tmp_path, [line("[web.example.com]:2222", key)], key) is Outcome.TRUSTED
    assert outcome(tmp_path, [line("[web.example.com]:2223", key)], key) is Outcome.UNKNOWN
    assert outcome(tmp_path, [line("web.example.com", key)], key, port=22) is Outcome.TRUSTED
    assert outcome(tmp_path, [line("WEB.example.COM", key)], key, port=22) is Outcome.TRUSTED


def test_the_address_never_stands_in_for_the_name(tmp_path: Path) -> None:
    key, other = new_key(), new_key()
    # The three cases: [localhost]:P OTHER + [127.0.0.1]:P KEY is changed...
    both = [line("[localhost]:2222", other), line("[127.0.0.1]:2222", key)]
    assert outcome(tmp_path, both, key, host="localhost", address="127.0.0.1") is Outcome.CHANGED
    # ...[localhost]:P OTHER + localhost KEY is changed (the port-less line cannot help)...
    portless = [line("[localhost]:2222", other), line("localhost", key)]
    assert outcome(tmp_path, portless, key, host="localhost") is Outcome.CHANGED
    # ...and only [127.0.0.1]:P KEY leaves localhost unknown.
    only_address = [line("[127.0.0.1]:2222", key)]
    assert (
        outcome(tmp_path, only_address, key, host="localhost", address="127.0.0.1")
        is Outcome.UNKNOWN
    )


def test_a_port_less_line_counts_only_for_the_exact_key(tmp_path: Path) -> None:
    key, other = new_key(), new_key()
    assert outcome(tmp_path, [line("web.example.com", key)], key) is Outcome.TRUSTED
    assert outcome(tmp_path, [line("web.example.com", other)], key) is Outcome.UNKNOWN
    revoked = [line("web.example.com", key, "@revoked")]
    assert outcome(tmp_path, revoked, key) is Outcome.REVOKED


def test_a_host_key_alias_is_looked_up_bare_with_no_fallback(tmp_path: Path) -> None:
    key = new_key()
    alias = {"alias": "castle"}
    assert outcome(tmp_path, [line("castle", key)], key, **alias) is Outcome.TRUSTED
    assert outcome(tmp_path, [line("[castle]:2222", key)], key, **alias) is Outcome.UNKNOWN
    assert outcome(tmp_path, [line("web.example.com", key)], key, **alias) is Outcome.UNKNOWN
    assert outcome(tmp_path, [line("castle", new_key())], key, **alias) is Outcome.CHANGED


def test_hashed_patterns_and_negations(tmp_path: Path) -> None:
    key = new_key()
    hashed = known_hosts_line("[web.example.com]:2222", key, hashed=True)
    assert outcome(tmp_path, [hashed], key) is Outcome.TRUSTED
    assert outcome(tmp_path, [line("[*.example.com]:2222", key)], key) is Outcome.TRUSTED
    negated = [line("[*.example.com]:2222,![web.example.com]:2222", key)]
    assert outcome(tmp_path, negated, key) is Outcome.UNKNOWN


def test_a_key_of_another_type_listed_means_changed_as_in_ssh(tmp_path: Path) -> None:
    # ssh 9.2 says "REMOTE HOST IDENTIFICATION HAS CHANGED" here (the differential test
    # checks it): it prefers the known type, so a server without it lost that key.
    presented = new_key()
    listed = [line("[web.example.com]:2222", new_key("ecdsa-sha2-nistp256"))]
    assert outcome(tmp_path, listed, presented) is Outcome.CHANGED


def test_revoked_wins_over_a_matching_line(tmp_path: Path) -> None:
    key = new_key()
    lines = [line("*", key, "@revoked"), line("[web.example.com]:2222", key)]
    assert outcome(tmp_path, lines, key) is Outcome.REVOKED


def test_unparsable_lines_and_unknown_markers_are_skipped(tmp_path: Path) -> None:
    key = new_key()
    lines = [
        "# a comment",
        "",
        "garbage",
        f"@bogus {line('[web.example.com]:2222', new_key())}",
        "[web.example.com]:2222 ssh-ed25519 notbase64!",
        "|1|bad|hash ssh-ed25519 AAAA",
        line("[web.example.com]:2222", key),
    ]
    check = check_with(tmp_path, lines)
    assert [entry.line for entry in check.entries.keys] == [7]
    assert check.validate(key)


def test_cert_authority_lines_go_to_asyncssh_and_enable_certificates(tmp_path: Path) -> None:
    ca, key = new_key(), new_key()
    check = check_with(tmp_path, [line("*.example.com,[*.example.com]:*", ca, "@cert-authority")])
    trusted, cas, revoked = check.known_hosts
    assert (trusted, cas, revoked) == ([], [ca], [])
    assert check.host_key_algs[0] == "ssh-ed25519-cert-v01@openssh.com"
    assert not check.validate(key)  # a CA line is not a host key
    plain = check_with(tmp_path, [line("[web.example.com]:2222", key)])
    assert not any(alg.endswith("-cert-v01@openssh.com") for alg in plain.host_key_algs)


def test_host_key_algorithms_prefer_known_types_as_ssh_does(tmp_path: Path) -> None:
    rsa = new_key("ssh-rsa")
    algs = check_with(tmp_path, [line("[web.example.com]:2222", rsa)]).host_key_algs
    assert algs[:2] == ["rsa-sha2-512", "rsa-sha2-256"]
    nothing = check_with(tmp_path, []).host_key_algs
    assert nothing[0] == "ssh-ed25519"
    both = [line("[web.example.com]:2222", rsa), line("[web.example.com]:2222", new_key())]
    # ssh's first choice is known: its default order stands (ed25519, then ecdsa, then rsa).
    assert check_with(tmp_path, both).host_key_algs[:2] == ["ssh-ed25519", "ecdsa-sha2-nistp256"]


def test_check_host_ip_only_warns_or_refuses(tmp_path: Path) -> None:
    key, other = new_key(), new_key()
    lines = [line("[web.example.com]:2222", key), line("[192.0.2.7]:2222", other)]
    off = check_with(tmp_path, lines, address="192.0.2.7")
    assert off.validate(key)
    assert off.warnings == []
    warned = check_with(tmp_path, lines, address="192.0.2.7", check_host_ip=True, strict=Strict.NO)
    assert warned.validate(key)
    assert "differs from the key for the IP address '[192.0.2.7]:2222'" in warned.warnings[0]
    strict = check_with(tmp_path, lines, address="192.0.2.7", check_host_ip=True)
    assert not strict.validate(key)
    assert strict.outcome is Outcome.ADDRESS_MISMATCH
    loopback = check_with(tmp_path, lines, address="127.0.0.1", check_host_ip=True)
    assert loopback.validate(key)  # ssh does not check loopback addresses
    trusted_by_address = [line("[192.0.2.7]:2222", key)]
    only_ip = check_with(tmp_path, trusted_by_address, address="192.0.2.7", check_host_ip=True)
    assert not only_ip.validate(key)  # an address entry never makes a key trusted
    assert only_ip.outcome is Outcome.UNKNOWN


# --- what happens then ---------------------------------------------------------------------


async def test_ask_prompts_and_accept_once_is_remembered_but_not_saved(tmp_path: Path) -> None:
    prompter = AnsweringPrompter(HostKeyDecision.ACCEPT_ONCE)
    policy = HostKeyPolicy(prompter)
    key = new_key()
    check = check_with(tmp_path, [], policy=policy)
    assert not check.validate(key)
    await policy.resolve(check)
    assert prompter.questions == [("web.example.com", 2222, "ssh-ed25519", fingerprint(key))]
    assert (tmp_path / "known_hosts").read_text() == ""
    again = check_with(tmp_path, [], policy=policy)
    assert again.validate(key)
    # A different key later is a changed key, even though the first was never saved.
    assert not again.validate(new_key())
    with pytest.raises(ConnectFailedError) as changed:
        await policy.resolve(again)
    assert changed.value.cause is Cause.HOST_KEY_CHANGED
    assert "accepted earlier in this session" in prompter.messages[0]


async def test_an_alias_is_asked_about_and_saved_under_its_name(tmp_path: Path) -> None:
    prompter = AnsweringPrompter(HostKeyDecision.ACCEPT_AND_SAVE)
    policy = HostKeyPolicy(prompter)
    check = check_with(tmp_path, [], policy=policy, alias="castle", hash_saved_hosts=False)
    key = new_key()
    check.validate(key)
    await policy.resolve(check)
    assert prompter.questions[0][:2] == ("castle", 22)
    assert (tmp_path / "known_hosts").read_text() == line("castle", key) + "\n"


@pytest.mark.parametrize("strict", [Strict.ACCEPT_NEW, Strict.NO])
async def test_accept_new_and_no_save_an_unknown_key_without_asking(
    tmp_path: Path, strict: Strict
) -> None:
    prompter = AnsweringPrompter(HostKeyDecision.REJECT)
    policy = HostKeyPolicy(prompter)
    check = check_with(tmp_path, [], policy=policy, strict=strict)
    key = new_key()
    check.validate(key)
    await policy.resolve(check)
    assert prompter.questions == []
    assert "Permanently added '[web.example.com]:2222'" in prompter.messages[0]
    assert check_with(tmp_path, [tmp_path.joinpath("known_hosts").read_text().strip()]).validate(
        key
    )


async def test_yes_refuses_an_unknown_key_without_asking(tmp_path: Path) -> None:
    prompter = AnsweringPrompter(HostKeyDecision.ACCEPT_AND_SAVE)
    policy = HostKeyPolicy(prompter)
    check = check_with(tmp_path, [], policy=policy, strict=Strict.YES)
    check.validate(new_key())
    with pytest.raises(ConnectFailedError, match="StrictHostKeyChecking is yes") as refused:
        await policy.resolve(check)
    assert refused.value.cause is Cause.HOST_KEY_UNKNOWN
    assert prompter.questions == []


async def test_without_a_user_file_an_unknown_key_cannot_be_accepted(tmp_path: Path) -> None:
    policy = HostKeyPolicy(AnsweringPrompter(HostKeyDecision.ACCEPT_AND_SAVE))
    settings = HostKeySettings(user_files=(), global_files=(), strict=Strict.NO)
    check = policy.check(settings, "web.example.com", 22)
    check.validate(new_key())
    with pytest.raises(ConnectFailedError, match="cannot be recorded"):
        await policy.resolve(check)


@pytest.mark.parametrize("strict", list(Strict))
async def test_a_changed_key_is_refused_whatever_strict_says(
    tmp_path: Path, strict: Strict
) -> None:
    old = new_key()
    prompter = AnsweringPrompter(HostKeyDecision.ACCEPT_AND_SAVE)
    policy = HostKeyPolicy(prompter)
    lines = [known_hosts_line("[web.example.com]:2222", old, hashed=True)]
    check = check_with(tmp_path, lines, policy=policy, strict=strict)
    presented = new_key("ecdsa-sha2-nistp256")
    check.validate(presented)
    with pytest.raises(ConnectFailedError) as refused:
        await policy.resolve(check)
    assert refused.value.cause is Cause.HOST_KEY_CHANGED
    assert prompter.questions == []  # there is no way to accept a changed key
    (warning,) = prompter.messages
    assert "REMOTE HOST IDENTIFICATION HAS CHANGED" in warning
    assert fingerprint(presented) in warning
    known_hosts = tmp_path / "known_hosts"
    assert f"{known_hosts}:1" in warning
    assert f"ssh-keygen -R '[web.example.com]:2222' -f {known_hosts}" in warning
    # From now on the host is refused before any connection is made.
    with pytest.raises(ConnectFailedError) as again:
        policy.check(settings_for(known_hosts), "web.example.com", 2222)
    assert again.value.cause is Cause.HOST_KEY_CHANGED
    assert known_hosts.read_text().count("\n") == 1


async def test_a_revoked_key_is_refused_even_with_no(tmp_path: Path) -> None:
    key = new_key()
    prompter = AnsweringPrompter(HostKeyDecision.ACCEPT_AND_SAVE)
    policy = HostKeyPolicy(prompter)
    check = check_with(tmp_path, [line("*", key, "@revoked")], policy=policy, strict=Strict.NO)
    check.validate(key)
    with pytest.raises(ConnectFailedError, match="is revoked") as refused:
        await policy.resolve(check)
    assert refused.value.cause is Cause.HOST_KEY_CHANGED
    assert "REVOKED HOST KEY DETECTED" in prompter.messages[0]


# --- files ---------------------------------------------------------------------------------


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
def test_saved_line_is_found_by_openssh_and_by_termkeep(
    tmp_path: Path, hashed: bool, port: int
) -> None:
    key = new_key()
    name = host_pattern("web.example.com", port)
    saved = known_hosts_line(name, key, hashed=hashed)
    assert saved.startswith("|1|") == hashed
    assert ("web.example.com" in saved) != hashed
    path = tmp_path / "known_hosts"
    path.write_text(saved + "\n")
    found = subprocess.run(
        ["ssh-keygen", "-F", name, "-f", str(path)],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    assert found.returncode == 0
    assert check_with(tmp_path, [saved], port=port).validate(key)


def test_files_are_read_in_order_with_line_numbers(tmp_path: Path) -> None:
    own, user, system = tmp_path / "own", tmp_path / "user", tmp_path / "system"
    web, extra, listed = new_key(), new_key("ecdsa-sha2-nistp256"), new_key("ssh-rsa")
    own.write_text(f"# mine\n{line('web.example.com', web)}\n")
    user.write_text(f"{line('web.example.com', extra)}\n")
    system.write_text(f"{line('other', new_key())}\n{line('web.example.com', listed)}\n")
    settings = HostKeySettings(user_files=(own, user), global_files=(system, tmp_path / "nope"))
    check = HostKeyPolicy(NoPrompter()).check(settings, "web.example.com", 22)
    assert [(e.path, e.line) for e in check.entries.keys] == [(own, 2), (user, 1), (system, 2)]
    assert check.validate(listed)
    assert settings.save_file == own


async def test_accept_and_save_creates_a_private_file(tmp_path: Path) -> None:
    save_to = tmp_path / "home" / ".ssh" / "known_hosts"  # neither directory exists yet
    policy = HostKeyPolicy(AnsweringPrompter(HostKeyDecision.ACCEPT_AND_SAVE))
    settings = HostKeySettings(user_files=(save_to, tmp_path / "user"), global_files=())
    key = new_key()
    check = policy.check(settings, "192.0.2.5", 2200)
    check.validate(key)
    await policy.resolve(check)
    assert stat.S_IMODE(save_to.stat().st_mode) == 0o600
    assert stat.S_IMODE(save_to.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(save_to.parent.parent.stat().st_mode) == 0o700  # parents made too
    assert not (tmp_path / "user").exists()
    assert HostKeyPolicy(NoPrompter()).check(settings, "192.0.2.5", 2200).validate(key)


def test_a_known_hosts_file_that_is_a_fifo_refuses_in_one_line_without_waiting(
    tmp_path: Path,
) -> None:
    fifo = tmp_path / "known_hosts"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer forever
    settings = HostKeySettings(user_files=(fifo,), global_files=())
    with pytest.raises(ConnectFailedError) as refused:
        HostKeyPolicy(NoPrompter()).check(settings, "web.example.com", 22)
    assert refused.value.cause is Cause.HOST_KEY_UNKNOWN
    assert "FIFO" in refused.value.detail
    assert str(fifo) in refused.value.detail


def test_dev_null_as_a_known_hosts_file_is_empty_as_in_ssh(tmp_path: Path) -> None:
    user_file = tmp_path / "known_hosts"
    key = new_key()
    user_file.write_text(line("web.example.com", key) + "\n")
    settings = HostKeySettings(user_files=(Path("/dev/null"), user_file), global_files=())
    check = HostKeyPolicy(NoPrompter()).check(settings, "web.example.com", 22)
    assert check.validate(key)


def test_save_appends_and_keeps_existing_lines(tmp_path: Path) -> None:
    user_file = tmp_path / "known_hosts"
    user_file.write_text(
        "# keep me\nold.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFake"
    )  # no final newline
    settings = HostKeySettings(user_files=(user_file,), hash_saved_hosts=False)
    key = new_key()
    HostKeyPolicy.save(settings, "web.example.com", key)
    lines = user_file.read_text().splitlines()
    assert lines[:2] == ["# keep me", "old.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFake"]
    assert lines[2] == known_hosts_line("web.example.com", key, hashed=False)


@pytest.mark.parametrize(
    ("text", "mode"),
    [
        ("yes", Strict.YES),
        ("TRUE", Strict.YES),
        ("off", Strict.NO),
        ("accept-new", Strict.ACCEPT_NEW),
    ],
)
def test_strict_host_key_checking_is_read_as_ssh_reads_it(text: str, mode: Strict) -> None:
    assert Strict.parse(text) is mode


def test_a_bad_strict_value_is_one_line() -> None:
    with pytest.raises(ValueError, match="'maybe' is not ask, yes, accept-new or no"):
        Strict.parse("maybe")


def test_revoked_host_keys_files_refuse_their_keys_for_every_host(tmp_path: Path) -> None:
    key = new_key()
    revoked = tmp_path / "revoked"
    revoked.write_text(f"# stolen\n{key.export_public_key().decode()}")
    listed = [line("[web.example.com]:2222", key)]
    assert outcome(tmp_path, listed, key, revoked_files=(revoked,)) is Outcome.REVOKED
    assert outcome(tmp_path, listed, new_key(), revoked_files=(revoked,)) is Outcome.CHANGED


def test_an_unreadable_or_krl_revoked_file_refuses(tmp_path: Path) -> None:
    krl = tmp_path / "krl"
    subprocess.run(
        ["ssh-keygen", "-q", "-k", "-f", str(krl)], check=True, capture_output=True, timeout=10
    )
    with pytest.raises(ConnectFailedError, match="is a KRL") as refused:
        check_with(tmp_path, [], revoked_files=(krl,))
    assert refused.value.cause is Cause.CONFIG
    with pytest.raises(ConnectFailedError, match="cannot read RevokedHostKeys"):
        check_with(tmp_path, [], revoked_files=(tmp_path / "missing",))

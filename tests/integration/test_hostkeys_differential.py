"""termkeep's host key judgement against the real ``ssh`` binary, case by case.

Each row of the table is a known_hosts file (and the options that go with it). The same file
is given to ``ssh -F /dev/null -o BatchMode=yes -o UserKnownHostsFile=FILE
-o GlobalKnownHostsFile=/dev/null`` (so no ssh_config can sway it) and to termkeep's connect,
both against a real sshd (the ``@cert-authority`` rows: a second one whose ed25519 host key
carries a certificate). The table says what each does; the test checks both, and the rule
itself whatever the table says:

- termkeep never connects where ssh does not;
- where ssh refuses, termkeep refuses, or asks (only where ssh's batch mode failed on a key it
  would have asked about; the test's user says no);
- where ssh connects and termkeep does not, the row names the difference: a changed or
  revoked key is refused even with StrictHostKeyChecking=no, and termkeep does not follow
  ssh's certificate path past a changed ``[host]:port`` key (see the row).
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import override

import pytest

from termkeep.config.profile import Profile, TmuxSettings
from termkeep.transport.link import Cause, ConnectFailedError
from termkeep.transport.prompts import HostKeyDecision, NoPrompter
from termkeep.transport.ssh.connector import SshConnector
from tests.fixtures import keys
from tests.fixtures.isolation import Isolation
from tests.fixtures.sshd import SshServer, make_workdir, start_sshd

pytestmark = pytest.mark.sshd

CONNECT_TIMEOUT = 30.0
SSH_TIMEOUT = 30.0
ALIAS = "castle"


class Result(Enum):
    CONNECTED = "connected"
    REFUSED = "refused"
    ASKED = "asked (and the user said no)"


C, R, A = Result.CONNECTED, Result.REFUSED, Result.ASKED


@dataclass(frozen=True)
class Case:
    """One known_hosts file and what ssh and termkeep do with it.

    Lines are templates: {KEY} the server's ed25519 key, {RSA} its RSA key, {OTHER} and
    {ECDSA} keys of no server, {CA} the CA that signed the server's certificate, {OTHER_CA}
    another CA, {P} the server's port. A line starting ``HASH `` is hashed with
    ``ssh-keygen -H``. ``second`` lines go to a second UserKnownHostsFile.
    """

    name: str
    lines: tuple[str, ...]
    ssh: Result
    termkeep: Result
    host: str = "127.0.0.1"
    strict: str = "ask"
    alias: str | None = None
    second: tuple[str, ...] | None = None
    certified: bool = False
    """Against the server whose ed25519 key has a host certificate."""
    difference: str | None = None
    """Why termkeep refuses where ssh connects (the only direction a difference may take)."""


REVOKED_OR_CHANGED = "a changed or revoked key is refused whatever StrictHostKeyChecking says"

CASES = (
    Case("exact [host]:port line", ("[127.0.0.1]:{P} {KEY}",), C, C),
    Case("empty file", (), R, A),
    # The three cases of issue 19.
    Case(
        "[localhost]:P OTHER + [127.0.0.1]:P KEY",
        ("[localhost]:{P} {OTHER}", "[127.0.0.1]:{P} {KEY}"),
        R,
        R,
        host="localhost",
    ),
    Case(
        "[localhost]:P OTHER + localhost KEY",
        ("[localhost]:{P} {OTHER}", "localhost {KEY}"),
        R,
        R,
        host="localhost",
    ),
    Case(
        "only [127.0.0.1]:P KEY, to localhost", ("[127.0.0.1]:{P} {KEY}",), R, A, host="localhost"
    ),
    Case("port-less line, same key", ("127.0.0.1 {KEY}",), C, C),
    Case("port-less line, same key, to localhost", ("localhost {KEY}",), C, C, host="localhost"),
    Case("port-less line, other key", ("127.0.0.1 {OTHER}",), R, A),
    Case("other port's line", ("[127.0.0.1]:1{P} {KEY}",), R, A),
    Case("hashed, same key", ("HASH [127.0.0.1]:{P} {KEY}",), C, C),
    Case("hashed, other key", ("HASH [127.0.0.1]:{P} {OTHER}",), R, R),
    Case("hashed port-less, same key", ("HASH 127.0.0.1 {KEY}",), C, C),
    Case("pattern", ("[127.0.0.*]:{P} {KEY}",), C, C),
    Case("pattern list, upper case", ("nothere,[127.0.0.?]:{P} {KEY}",), C, C),
    Case("negated", ("[127.0.0.*]:{P},![127.0.0.1]:{P} {KEY}",), R, A),
    Case("negated, other key", ("[127.0.0.*]:{P},![127.0.0.1]:{P} {OTHER}",), R, A),
    Case("@revoked", ("@revoked * {KEY}", "[127.0.0.1]:{P} {KEY}"), R, R),
    Case(
        "@revoked, StrictHostKeyChecking no",
        ("@revoked * {KEY}", "[127.0.0.1]:{P} {KEY}"),
        C,
        R,
        strict="no",
        difference=REVOKED_OR_CHANGED,
    ),
    Case(
        "@revoked port-less line, accept-new",
        ("@revoked 127.0.0.1 {KEY}",),
        C,
        R,
        strict="accept-new",
        difference="a key revoked for the port-less name is refused, not taken as new",
    ),
    Case("@cert-authority", ("@cert-authority [127.0.0.1]:* {CA}",), C, C, certified=True),
    Case("@cert-authority, other CA", ("@cert-authority * {OTHER_CA}",), R, R, certified=True),
    Case(
        "@cert-authority, other CA, plain key known",
        ("@cert-authority * {OTHER_CA}", "[127.0.0.1]:{P} {KEY}"),
        C,
        R,
        certified=True,
        difference="asyncssh cannot fall back from an untrusted certificate to its plain key",
    ),
    Case(
        "@cert-authority + plain key",
        ("@cert-authority * {CA}", "[127.0.0.1]:{P} {KEY}"),
        C,
        C,
        certified=True,
    ),
    Case("@revoked CA", ("@cert-authority * {CA}", "@revoked * {CA}"), R, R, certified=True),
    Case(
        "plain key known, server has a certificate",
        ("[127.0.0.1]:{P} {KEY}",),
        C,
        C,
        certified=True,
    ),
    Case(
        "certificate server, [localhost]:P OTHER + localhost KEY",
        ("[localhost]:{P} {OTHER}", "localhost {KEY}"),
        C,
        R,
        host="localhost",
        certified=True,
        difference=(
            "ssh checks a certificate's plain key port-less before it sees the changed "
            "[host]:port key (its downgrade happens inside the port-less retry)"
        ),
    ),
    Case("HostKeyAlias", (f"{ALIAS} {{KEY}}",), C, C, alias=ALIAS),
    Case("HostKeyAlias, other key", (f"{ALIAS} {{OTHER}}",), R, R, alias=ALIAS),
    Case("HostKeyAlias with a port", (f"[{ALIAS}]:{{P}} {{KEY}}",), R, A, alias=ALIAS),
    Case("HostKeyAlias, host's own line", ("[127.0.0.1]:{P} {KEY}",), R, A, alias=ALIAS),
    Case("yes, unknown key", (), R, R, strict="yes"),
    Case("accept-new, unknown key", (), C, C, strict="accept-new"),
    Case("no, unknown key", (), C, C, strict="no"),
    Case("accept-new, changed key", ("[127.0.0.1]:{P} {OTHER}",), R, R, strict="accept-new"),
    Case(
        "no, changed key",
        ("[127.0.0.1]:{P} {OTHER}",),
        C,
        R,
        strict="no",
        difference=REVOKED_OR_CHANGED,
    ),
    Case("second UserKnownHostsFile", (), C, C, second=("[127.0.0.1]:{P} {KEY}",)),
    Case(
        "changed in the second UserKnownHostsFile",
        ("[127.0.0.1]:{P} {KEY}",),
        C,
        C,
        second=("[127.0.0.1]:{P} {OTHER}",),
    ),
    Case("other key type known (ECDSA)", ("[127.0.0.1]:{P} {ECDSA}",), R, R),
    Case("only the RSA key known", ("[127.0.0.1]:{P} {RSA}",), C, C),
    Case("RSA known, ed25519 other", ("[127.0.0.1]:{P} {OTHER}", "[127.0.0.1]:{P} {RSA}"), R, R),
)


@dataclass
class Lab:
    """The two servers (same host keys) and the keys the table's templates name."""

    plain: SshServer
    certified: SshServer
    keys: dict[str, str]

    def server(self, case: Case) -> SshServer:
        return self.certified if case.certified else self.plain

    def values(self, case: Case) -> dict[str, str]:
        return {**self.keys, "P": str(self.server(case).port)}


@pytest.fixture(scope="module")
def lab(sshd_host_keys: Path) -> Iterator[Lab]:
    """Two sshds for the whole table; the second's ed25519 host key is certified by a
    throwaway CA (for @cert-authority)."""
    workdir = make_workdir("tk-hostkeys-")
    servers: list[SshServer] = []
    try:
        servers.append(start_sshd(workdir / "plain", host_keys_from=sshd_host_keys))
        servers.append(start_sshd(workdir / "certified", host_keys_from=sshd_host_keys))
        plain, certified = servers
        ca = keys.generate_key(workdir / "ca")
        host_key = certified.host_key_paths[0]
        sign = ["ssh-keygen", "-q", "-s", str(ca), "-I", "test-host", "-h"]
        subprocess.run(
            [*sign, "-n", certified.host, f"{host_key}.pub"],
            check=True,
            capture_output=True,
            timeout=30,
        )
        certified.extra_config = (f"HostCertificate {host_key}-cert.pub",)
        certified.restart()
        ed25519, rsa = plain.host_public_keys
        named = {
            "KEY": ed25519,
            "RSA": rsa,
            "OTHER": keys.public_key_line(keys.generate_key(workdir / "other")),
            "ECDSA": keys.public_key_line(keys.generate_key(workdir / "ecdsa", key_type="ecdsa")),
            "CA": keys.public_key_line(ca),
            "OTHER_CA": keys.public_key_line(keys.generate_key(workdir / "other_ca")),
        }
        yield Lab(plain, certified, named)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def write_known_hosts(path: Path, lines: tuple[str, ...], values: dict[str, str]) -> Path:
    plain = [text.format(**values) for text in lines]
    path.write_text("".join(f"{text.removeprefix('HASH ')}\n" for text in plain))
    if any(text.startswith("HASH ") for text in plain):
        # Hash with OpenSSH's own tool, so termkeep's hashing is not what is tested against.
        subprocess.run(
            ["ssh-keygen", "-q", "-H", "-f", path], check=True, capture_output=True, timeout=30
        )
    return path


def known_hosts_files(directory: Path, case: Case, values: dict[str, str]) -> list[Path]:
    directory.mkdir()
    files = [write_known_hosts(directory / "known_hosts", case.lines, values)]
    if case.second is not None:
        files.append(write_known_hosts(directory / "known_hosts2", case.second, values))
    return files


def run_ssh(lab: Lab, case: Case, files: list[Path]) -> tuple[Result, str]:
    server = lab.server(case)
    command = [
        "ssh",
        *("-F", "/dev/null", "-o", "BatchMode=yes"),
        *("-o", f"UserKnownHostsFile={' '.join(str(path) for path in files)}"),
        *("-o", "GlobalKnownHostsFile=/dev/null"),
        *("-o", f"StrictHostKeyChecking={case.strict}"),
        *(("-o", f"HostKeyAlias={case.alias}") if case.alias else ()),
        *("-o", "IdentitiesOnly=yes", "-i", str(server.client_key)),
        *("-l", server.user, "-p", str(server.port), case.host, "true"),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=SSH_TIMEOUT, check=False)
    return (C if done.returncode == 0 else R), done.stderr


class SayingNo(NoPrompter):
    """The user of ssh's batch mode: asked about an unknown key, says no (and we note it)."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = 0

    @override
    async def unknown_host_key(
        self, host: str, port: int, key_type: str, fingerprint: str
    ) -> HostKeyDecision:
        self.asked += 1
        return HostKeyDecision.REJECT


async def run_termkeep(lab: Lab, case: Case, files: list[Path]) -> tuple[Result, str]:
    server = lab.server(case)
    profile = Profile(
        name="differential",
        host=case.host,
        port=server.port,
        user=server.user,
        identity_files=(str(server.client_key),),
        user_known_hosts_files=tuple(str(path) for path in files),
        global_known_hosts_files=("/dev/null",),
        strict_host_key_checking=case.strict,
        host_key_alias=case.alias,
        tmux=TmuxSettings(enabled=False),
    )
    prompter = SayingNo()
    connector = SshConnector(profile, prompter, session=False)
    try:
        link = await asyncio.wait_for(connector(lambda _data: None, (80, 24)), CONNECT_TIMEOUT)
    except ConnectFailedError as failure:
        said = "\n".join([str(failure), *prompter.messages])
        return (A if prompter.asked else R), said
    link.close()
    return C, "\n".join(prompter.messages)


def ssh_keygen_finds(name: str, path: Path) -> bool:
    """Whether OpenSSH's own lookup finds ``name`` in a known_hosts file."""
    found = subprocess.run(
        ["ssh-keygen", "-F", name, "-f", str(path)], capture_output=True, timeout=30, check=False
    )
    return found.returncode == 0


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_termkeep_judges_host_keys_as_ssh_does(lab: Lab, case: Case, tmp_path: Path) -> None:
    ssh_files = known_hosts_files(tmp_path / "ssh", case, lab.values(case))
    ours = known_hosts_files(tmp_path / "termkeep", case, lab.values(case))
    ssh_result, ssh_said = run_ssh(lab, case, ssh_files)
    termkeep_result, termkeep_said = await run_termkeep(lab, case, ours)

    # The rule, whatever the table says.
    if ssh_result is not C:
        assert termkeep_result is not C, f"termkeep connected where ssh refused:\n{ssh_said}"
    elif termkeep_result is not C:
        assert case.difference, f"termkeep refused where ssh connected:\n{termkeep_said}"

    assert ssh_result is case.ssh, f"ssh did not do what the table says:\n{ssh_said}"
    assert termkeep_result is case.termkeep, f"termkeep: {termkeep_said}"
    if case.strict in {"accept-new", "no"} and not case.lines and termkeep_result is C:
        # Both recorded the new key, and ssh finds termkeep's line.
        assert ssh_keygen_finds(f"[{case.host}]:{lab.server(case).port}", ours[0])
        assert ssh_files[0].read_text().strip()


def test_the_table_covers_every_rule() -> None:
    assert len(CASES) >= 20
    names = " ".join(case.name for case in CASES)
    for rule in ("hashed", "pattern", "negated", "@revoked", "@cert-authority", "HostKeyAlias"):
        assert rule in names
    assert {case.strict for case in CASES} == {"ask", "yes", "accept-new", "no"}


async def test_default_user_files_are_known_hosts_and_known_hosts2(
    lab: Lab, isolation: Isolation
) -> None:
    """With no UserKnownHostsFile, termkeep reads ~/.ssh/known_hosts then known_hosts2, as
    ssh does (ssh is given the same two files: it takes ~ from the password file)."""
    case = Case("known_hosts2 only", (), C, C)
    isolation.ssh_dir.mkdir()
    files = [isolation.ssh_dir / "known_hosts", isolation.ssh_dir / "known_hosts2"]
    write_known_hosts(files[1], ("[127.0.0.1]:{P} {KEY}",), lab.values(case))
    ssh_result, ssh_said = run_ssh(lab, case, files)
    assert ssh_result is C, ssh_said
    server = lab.plain
    profile = Profile(
        name="defaults",
        host=server.host,
        port=server.port,
        user=server.user,
        identity_files=(str(server.client_key),),
        global_known_hosts_files=("/dev/null",),
        tmux=TmuxSettings(enabled=False),
    )
    link = await asyncio.wait_for(
        SshConnector(profile, SayingNo(), session=False)(lambda _data: None, (80, 24)),
        CONNECT_TIMEOUT,
    )
    link.close()
    assert not files[0].exists()  # nothing was saved: the key was known


async def test_every_reconnect_is_judged_again(sshd: SshServer, tmp_path: Path) -> None:
    """The connector the supervisor calls for every reconnect checks each time: once the
    server's key changes, the next attempt is refused, and later ones never reach it."""
    known = tmp_path / "known_hosts"
    known.write_text("\n".join(sshd.known_hosts_lines()) + "\n")
    profile = Profile(
        name="again",
        host=sshd.host,
        port=sshd.port,
        user=sshd.user,
        identity_files=(str(sshd.client_key),),
        user_known_hosts_files=(str(known),),
        global_known_hosts_files=("/dev/null",),
        strict_host_key_checking="no",
        tmux=TmuxSettings(enabled=False),
    )
    connector = SshConnector(profile, SayingNo(), session=False)
    first = await asyncio.wait_for(connector(lambda _data: None, (80, 24)), CONNECT_TIMEOUT)
    first.close()
    sshd.swap_host_key()
    before = sshd.connection_count()
    for _ in range(2):
        with pytest.raises(ConnectFailedError) as refused:
            await asyncio.wait_for(connector(lambda _data: None, (80, 24)), CONNECT_TIMEOUT)
        assert refused.value.cause is Cause.HOST_KEY_CHANGED
    assert sshd.connection_count() == before + 1  # the second attempt never left termkeep

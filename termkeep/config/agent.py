"""Which local agent socket a forwarded agent comes from, written as OpenSSH's ``ForwardAgent``
takes a path (OpenSSH 8.2+): a socket path, where ``~`` and ``${VAR}`` are expanded, or
``$VAR`` alone, the name of an environment variable that holds the path.

``$VAR`` and ``${VAR}`` differ as in ssh: an unset ``$VAR`` means there is no agent to
forward (ssh then forwards none), while an unset ``${VAR}`` inside a path is an error. Both
are read when a connection is made, from the environment termkeep runs in.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BRACED = re.compile(r"\$\{([^}]*)\}")


class AgentSocketError(ValueError):
    """An agent socket setting that names an unset ``${VAR}``."""


def agent_socket_problem(spec: str) -> str | None:
    """Why ``spec`` cannot name an agent socket, or None when it can (checked when a
    profile is read, so a typo is found before any connection)."""
    if spec.startswith("$") and not spec.startswith("${"):
        if not _ENV_NAME.fullmatch(spec[1:]):
            return "must be a path or $NAME, an environment variable's name"
        return None
    for match in _BRACED.finditer(spec):
        if not _ENV_NAME.fullmatch(match.group(1)):
            return f"has {match.group(0)!r}, which is not ${{NAME}} of an environment variable"
    if "$" in _BRACED.sub("", spec):
        return "has a '$' that is not $NAME alone or ${NAME} in a path"
    if "%" in spec:
        return "has a '%': percent tokens are ssh_config's, write the path out here"
    return None


def resolve_agent_socket(spec: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The socket path ``spec`` names now; None when it is ``$VAR`` and ``VAR`` is unset
    or empty (no agent to forward). Raises AgentSocketError for an unset ``${VAR}``."""
    env = os.environ if environ is None else environ
    if spec.startswith("$") and not spec.startswith("${"):
        return env.get(spec[1:]) or None

    def variable(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise AgentSocketError(f"the agent socket {spec!r} names ${{{name}}}, which is unset")
        return env[name]

    expanded = _BRACED.sub(variable, spec)
    if expanded == "~" or expanded.startswith("~/"):
        return (env.get("HOME") or str(Path.home())) + expanded[1:]
    return str(Path(expanded).expanduser())  # ~user/...; any other path stays as it is

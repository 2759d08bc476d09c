"""A forwarded SSH agent that outlives the connection that brought it: the stable agent path.

sshd gives each connection its own agent socket (``$SSH_AUTH_SOCK``, e.g.
``/tmp/ssh-XXXX/agent.123``) and removes it when the connection ends, while the shells in a
tmux session keep the path of the connection that started them: after a reconnect their
``ssh-add -l`` and ``git pull`` fail. So every attach that forwards an agent points a path that
never changes, one per tmux session, at the new connection's socket, and runs tmux with
``SSH_AUTH_SOCK`` set to that path. tmux's default ``update-environment`` copies the variable
into the session at each attach, so new windows get it too, and so does every shell started
after the first such attach.

On the server, in a directory only the user can read (0700) that belongs to this host alone,
so that a home shared over NFS never mixes two hosts' sockets: ``$XDG_RUNTIME_DIR/termkeep-agent``
where it exists, else ``~/.termkeep-agent/<host name>``. In it:

- ``NAME.<tty>``: one link per attached connection to that connection's socket, named by its
  terminal (``$SSH_TTY``, ``/dev/pts/<tty>``), which is the tmux client's: tmux's own list of
  the session's clients says which links belong to a connection still attached. (A process
  id would not: a shell killed with its sshd can linger unreaped, and its sshd's socket file
  stays behind.)
- ``NAME``: the stable path, a link to one of them that is alive (this connection's when it
  has an agent). It is replaced atomically (a new link renamed over it), so a program never
  finds it missing while it changes.

When the tmux client ends (a detach, or the connection dropped: the shell ignores the hang-up
so that it can do this), the shell removes its own link and points the stable path at another
connection still attached with an agent, if any (a tab and a ``termkeep attach`` on one
session), else removes it: nothing is left pointing at a socket that is gone. Links of
connections whose shell could not do this (killed with their sshd) go at the next attach.

Everything here runs in the attach command itself (``attach.reporting_attach_command``):
no round trip of its own.
"""

from __future__ import annotations

import hashlib
import re

from termkeep.tmux.shell import exact_target, shell_words
from termkeep.transport.link import AgentState

AGENT_DIR_IN_RUNTIME = "termkeep-agent"
"""The directory under ``$XDG_RUNTIME_DIR``."""
AGENT_DIR_IN_HOME = ".termkeep-agent"
"""The directory under the home, holding one directory per host name."""

LINK_NAME_MAX = 32
"""Longer session names are shortened (a prefix and a hash) in the link's name: clients
connect to the stable path itself, and a socket path must fit in 108 bytes."""
STABLE_PATH_MAX = 100
"""A stable path longer than this (a deep home, a long host name) is not made: the
connection's own ``$SSH_AUTH_SOCK`` is left as it is."""

_SAFE_NAME = re.compile(r"[A-Za-z0-9_-]+")


def agent_link_name(session: str) -> str:
    """The file name of ``session``'s stable path: the name itself when short, else a prefix
    and a hash (distinct names stay distinct). Never contains a dot, so the per-connection
    links ``NAME.<tty>`` of one session never match another's."""
    if not _SAFE_NAME.fullmatch(session):
        raise ValueError(f"not a sanitised tmux session name: {session!r}")
    if len(session) <= LINK_NAME_MAX:
        return session
    digest = hashlib.sha256(session.encode()).hexdigest()[:8]
    return f"{session[: LINK_NAME_MAX - 9]}-{digest}"


# The pieces below are POSIX sh, joined with "; " into the attach command's script: no single
# quote, backslash, "!" or newline (shell.remote_command refuses them), so the script stays
# one single-quoted word for any login shell. Variables start with agent_ to stay clear of
# the rest of the script.

_DIRECTORY = (
    "agent_dir=${XDG_RUNTIME_DIR-}",
    'if [ -n "$agent_dir" ] && [ -d "$agent_dir" ] && [ -w "$agent_dir" ]; '
    f"then agent_dir=$agent_dir/{AGENT_DIR_IN_RUNTIME}; "
    f"else agent_dir=$HOME/{AGENT_DIR_IN_HOME}/$(uname -n); fi",
)


def _pick(session: str) -> str:
    """``agent_pick [TTY]``: agent_live = the link of a connection whose tmux client is still
    attached to the session, TTY's left out; every other link is removed. tmux is asked only
    when there are links to judge (usually there are none)."""
    clients = shell_words("tmux", "list-clients", "-t", exact_target(session), "-F")
    return (
        "agent_pick() { agent_live=; agent_ttys=; agent_asked=; "
        'for agent_link in "$agent_path".*; do '
        '[ -L "$agent_link" ] || continue; '
        'if [ -z "$agent_asked" ]; then agent_asked=1; '
        f'for agent_tty in $({clients} "#{{client_tty}}" 2>/dev/null); '
        'do agent_ttys="$agent_ttys ${agent_tty##*/}"; done; fi; '
        "agent_tty=${agent_link##*.}; agent_keep=; "
        'case "$agent_ttys " in *" $agent_tty "*) agent_keep=1 ;; esac; '
        'if [ "$agent_tty" = "${1-}" ]; then agent_keep=; fi; '
        'if [ -n "$agent_keep" ] && [ -S "$agent_link" ]; then agent_live=$agent_link; '
        'else rm -f "$agent_link"; fi; '
        "done; }"
    )


# agent_point: the stable path becomes a link to agent_live (renamed over the old one, so it
# never goes missing; -T where mv has it, so a link is never moved into a directory), or is
# removed when there is none.
_POINT = (
    "agent_point() { "
    'if [ -n "$agent_live" ]; then '
    'ln -sfn "${agent_live##*/}" "$agent_dir/.new.$$" && '
    '{ mv -fT "$agent_dir/.new.$$" "$agent_path" 2>/dev/null '
    '|| mv -f "$agent_dir/.new.$$" "$agent_path"; }; '
    'else rm -f "$agent_path"; fi; }'
)

# This connection's own link, to the socket sshd made for it; never to a path in our own
# directory (a startup file that sets SSH_AUTH_SOCK to the stable path would make a loop).
_OWN_LINK = (
    'case ${SSH_AUTH_SOCK-} in ""|"$agent_dir"/*) ;; '
    '*) if [ -S "$SSH_AUTH_SOCK" ]; then ln -sfn "$SSH_AUTH_SOCK" "$agent_own"; fi ;; esac'
)


def agent_setup_script(session: str, agent: AgentState) -> str:
    """The script that runs before tmux: the directory, this connection's link when it
    forwards an agent, the stable path pointed at a live one (this connection's first) or
    removed, and ``SSH_AUTH_SOCK`` exported as the stable path. Empty for ``OFF``. When the
    directory cannot be made, ``agent_dir`` is left empty and nothing else changes."""
    if agent is AgentState.OFF:
        return ""
    name = agent_link_name(session)
    own_link = [_OWN_LINK] if agent is AgentState.FORWARDED else []
    made = "; ".join(
        (
            "agent_pick",  # before this connection's link: its client is not attached yet
            *own_link,
            'if [ -S "$agent_own" ]; then agent_live=$agent_own; fi',
            "agent_point",
            "SSH_AUTH_SOCK=$agent_path",
            "export SSH_AUTH_SOCK",
        )
    )
    return "; ".join(
        (
            *_DIRECTORY,
            f"agent_path=$agent_dir/{name}",
            "agent_own=$agent_path.${SSH_TTY##*/}",
            _pick(session),
            _POINT,
            # sshd sets SSH_TTY for every session with a terminal, as the attach's is.
            f'if [ -n "${{SSH_TTY-}}" ] && [ "${{#agent_path}}" -le {STABLE_PATH_MAX} ] && '
            '{ [ -d "$agent_dir" ] || mkdir -p -m 700 "$agent_dir"; }; '
            f"then {made}; else agent_dir=; fi",
        )
    )


def agent_release_script() -> str:
    """The script that runs after tmux ends: this connection's link goes, and the stable path
    is pointed at another connection's live link or removed."""
    return 'if [ -n "$agent_dir" ]; then agent_pick "${SSH_TTY##*/}"; agent_point; fi'

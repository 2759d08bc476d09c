"""Round trips asyncssh waits for that the SSH protocol lets a client skip.

On a slow link every round trip of a reconnect shows (200 ms each at 200 ms RTT). Two of
asyncssh's waits are not needed:

1. **pty-req and exec in one flight** (``open_pty_session``). The server answers channel
   requests in the order they were sent (RFC 4254 section 5.4), so exec need not wait for
   pty-req's reply: ``_PipelinedChannel`` sends pty-req, keeps its reply, sends exec at once
   and checks both replies when they come back together. A refused PTY still fails the
   attach, as before.
2. **a known key signed at once** (``pipeline_auth``, ``_KnownKeyAuth``). asyncssh opens
   with a "none" request (to learn the methods), then asks whether a key would be accepted,
   then signs: three server replies. For the key that logged in to this host last time
   (``KeyMemory``, in memory only) the signed request is the first and only one; if the
   server refuses it after all, asyncssh carries on from the server's list of methods as
   usual.

What is *not* done, measured on the trace at 200 ms RTT: sending the userauth request with
the service request. OpenSSH's sshd leaves Nagle on until a PTY is allocated, so each of its
replies waits until the previous one is acknowledged; the service accept and the auth reply
still arrive a round trip apart, and the early request only bought a delayed ACK.

Host key checking is untouched: all of this happens after the key exchange.

Private asyncssh API relied on (2.24; tests/integration/test_slow_link.py and
test_transport.py exercise every piece against the real OpenSSH sshd):

- ``SSHClientChannel(conn, loop, utf8_decode_errors, encoding, errors, window, max_pktsize)``
  and its ``create(...)`` positional signature, ``_make_request``, ``_send_request``,
  ``_request_waiters`` (replies are matched to requests in order), ``_send_chan``;
- ``SSHClientConnection._loop``, ``._options`` (``window``, ``max_pktsize``,
  ``x11_display``, ``x11_auth_path``, ``x11_single_connection``), ``._utf8_decode_errors``,
  ``._update_recv_pktlen``, ``._agent_forward_path``, ``asyncssh.misc.lookup_env``;
- ``SSHClientConnection._auth_methods`` (the methods still to try; asyncssh starts it as
  ``[b"none"]`` and replaces it from each failure reply);
- ``asyncssh.auth._ClientPublicKeyAuth`` (``_start``, ``_send_signed_request``,
  ``_keypair``, ``_conn``, ``send_request``) and the registry
  ``asyncssh.auth._client_auth_handlers``, where ``_KnownKeyAuth`` replaces it for
  publickey. It behaves exactly like asyncssh's own class on connections that
  ``pipeline_auth`` did not set up.
"""

from __future__ import annotations

import asyncio
import dataclasses
import weakref
from collections.abc import Callable
from typing import Any, cast

import asyncssh
from asyncssh import auth as _auth
from asyncssh.misc import lookup_env
from asyncssh.packet import Boolean, String

from termkeep.transport.link import retrieve_quietly

# --------------------------------------------------------------------------------------------
# 1. pty-req and exec in one flight.


class _PipelinedChannel(asyncssh.SSHClientChannel[bytes]):
    """A client channel that sends exec without waiting for pty-req's reply."""

    _pty_reply: asyncio.Future[bool] | None = None

    async def _make_request(self, request: bytes, *args: bytes) -> bool | None:
        if request == b"pty-req" and self._send_chan is not None:
            reply: asyncio.Future[bool] = self._loop.create_future()
            # When the connection dies before exec's reply, asyncssh fails this waiter too,
            # and nobody reads it (exec's own failure is what the attach reports).
            reply.add_done_callback(retrieve_quietly)
            self._request_waiters.append(reply)
            self._send_request(request, *args, want_reply=True)
            self._pty_reply = reply
            return True
        result = await super()._make_request(request, *args)
        if self._pty_reply is not None and request in {b"exec", b"shell"}:
            # Replies come in request order, so pty-req's is in by now.
            pty_ok = await self._pty_reply
            self._pty_reply = None
            if not pty_ok:
                self.close()
                raise asyncssh.ChannelOpenError(
                    asyncssh.OPEN_REQUEST_PTY_FAILED, "PTY request failed"
                )
        return result


async def open_pty_session(
    conn: asyncssh.SSHClientConnection,
    session_factory: Callable[[], asyncssh.SSHClientSession[bytes]],
    command: str | None,
    *,
    term_type: str,
    term_size: tuple[int, int],
    send_env: list[str],
    x11_forwarding: bool | str,
) -> tuple[asyncssh.SSHClientChannel[bytes], asyncssh.SSHClientSession[bytes]]:
    """``conn.create_session(..., request_pty="force", encoding=None)`` with pty-req and
    exec (or shell) sent back to back: the open costs two round trips instead of three."""
    conn_any = cast(Any, conn)
    options = conn_any._options
    env = dict(lookup_env(send_env)) if send_env else {}
    conn_any._update_recv_pktlen(options.max_pktsize)
    chan = _PipelinedChannel(
        conn,
        conn_any._loop,
        conn_any._utf8_decode_errors,
        None,
        "strict",
        options.window,
        options.max_pktsize,
    )
    session = await chan.create(
        session_factory,
        command,
        None,
        env,
        True,
        term_type,
        term_size,
        {},
        x11_forwarding,
        options.x11_display,
        options.x11_auth_path,
        options.x11_single_connection,
        bool(conn_any._agent_forward_path),
    )
    return chan, session


def forwards_agent(conn: asyncssh.SSHClientConnection) -> bool:
    """Whether ``conn``'s session channels ask the server to forward the agent: asyncssh
    does when its options name an agent socket (the same test ``open_pty_session`` makes)."""
    return bool(cast(Any, conn)._agent_forward_path)


# --------------------------------------------------------------------------------------------
# 2. A known key signed at once.


@dataclasses.dataclass
class KeyMemory:
    """Which public key logged in to each ``user@host``, kept in memory only."""

    accepted: dict[str, bytes] = dataclasses.field(default_factory=dict)
    """``user@host`` -> the public key blob the server accepted last time."""


@dataclasses.dataclass
class _AuthHint:
    login: str
    memory: KeyMemory
    signed: bytes | None = None
    """The key whose signature went out last on this connection."""


_HINTS: weakref.WeakKeyDictionary[asyncssh.SSHClientConnection, _AuthHint] = (
    weakref.WeakKeyDictionary()
)


def pipeline_auth(conn: asyncssh.SSHClientConnection, login: str, memory: KeyMemory) -> None:
    """Set ``conn`` up (from ``SSHClient.connection_made``, before the handshake) to sign at
    once with the key that logged in to ``login`` last time."""
    _HINTS[conn] = _AuthHint(login, memory)
    if login in memory.accepted:
        # Skip the opening "none" request: its reply is a round trip that tells nothing new.
        cast(Any, conn)._auth_methods = [b"publickey"]


def auth_succeeded(conn: asyncssh.SSHClientConnection) -> None:
    """Remember the key that just logged in (call from ``SSHClient.auth_completed``)."""
    hint = _HINTS.get(conn)
    if hint is None:
        return
    if hint.signed is None:
        # Logged in some other way (password, keyboard-interactive): nothing to sign early.
        hint.memory.accepted.pop(hint.login, None)
    else:
        hint.memory.accepted[hint.login] = hint.signed


class _KnownKeyAuth(_auth._ClientPublicKeyAuth):
    """asyncssh's public key auth, but a key known to log in is signed at once."""

    async def _start(self) -> None:
        hint = _HINTS.get(self._conn)
        if hint is None or hint.memory.accepted.get(hint.login) is None:
            await super()._start()
            return
        self._keypair = await self._conn.public_key_auth_requested()
        if self._keypair is None:
            self._conn.try_next_auth(next_method=True)
            return
        if self._keypair.public_data != hint.memory.accepted[hint.login]:
            self.logger.debug1("Trying public key auth with %s key", self._keypair.algorithm)
            await self.send_request(
                Boolean(False),
                String(self._keypair.algorithm),
                String(self._keypair.public_data),
            )
            return
        await self._send_signed_request()

    async def _send_signed_request(self) -> None:
        hint = _HINTS.get(self._conn)
        if hint is not None and self._keypair is not None:
            hint.signed = self._keypair.public_data
        await super()._send_signed_request()


_auth._client_auth_handlers[b"publickey"] = _KnownKeyAuth

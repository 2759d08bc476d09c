"""A profile's file transfers on a connection of their own: what a tab (and ``termkeep put`` /
``termkeep get``) uses to send and fetch files.

A ``TransferSession`` is a ``SessionCore`` with ``shell=False`` (no PTY, no tmux, no
forwards: a second connection of the profile, kept up by the same supervisor, policy,
keepalive and host-key rules as the tab's) carrying a ``TransferService``. Bulk data never
queues in front of the tab's keystrokes, and a drop only pauses the file in flight: it
resumes on the next connection from the last acknowledged offset.

How an app tab uses it::

    transfers = TransferSession.for_tab(tab_session, prompter, store=store, decide=ask)
    transfers.add_listener(show)        # TransferView on every change (progress <= 10/s);
                                        # remove_listener(show) when the view closes
    transfers.on_update(show_link)      # the connection's Status and Notices
    await transfers.start()             # when the first transfer is wanted (returns at once;
                                        # again does nothing; close() works unstarted too)
    ids = transfers.upload([Path("a.txt"), Path("b.txt")], "/srv/www", Existing.KEEP_BOTH)
    ids = transfers.download(["/var/log/syslog"], Path("~/Downloads").expanduser())
    for view in transfers.transfers():  # view.state, view.rate (B/s), view.eta (s), ...
        print(view.summary())
    transfers.cancel(ident); transfers.retry(ident); transfers.discard(ident)
    await transfers.close()             # with the tab

``on_conflict`` (``Existing``) settles a destination that already exists for the files of one
call: overwrite, keep both (``name (1).ext``), skip or refuse; None asks ``decide`` (a
dialog) for each such file. Listeners run on the event loop. Views carry the server's text as
it came (file names, reasons): show them with ``ssh_visible`` or ``safe_text``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from termkeep.config.profile import Profile
from termkeep.config.store import ProfileStore
from termkeep.session.core import SessionCore
from termkeep.session.tab_session import Session
from termkeep.supervisor.state import Status
from termkeep.supervisor.supervisor import Listener
from termkeep.transfers.jobs import ExistsDecider
from termkeep.transfers.model import Existing, TransferView
from termkeep.transfers.pipeline import DEFAULT_REQUESTS
from termkeep.transfers.service import TransferListener, TransferService
from termkeep.transport.prompts import Prompter


class TransferSession:
    """A profile's transfer queue on its own bare connection (see the module's notes)."""

    def __init__(
        self,
        profile: Profile,
        prompter: Prompter,
        *,
        decide: ExistsDecider,
        store: ProfileStore | None = None,
        history_file: Path | None = None,
        requests: int = DEFAULT_REQUESTS,
    ) -> None:
        """``decide`` is asked about an existing destination when a call gave no
        ``on_conflict``; ``history_file`` is where this connection's drops are appended
        (None keeps them in memory); ``requests``: SFTP requests in flight (what a resume
        sends again at most)."""
        self.profile = profile
        self.core = SessionCore(
            profile,
            prompter,
            screen=_nothing_arrives,
            store=store,
            shell=False,
            forwards=False,  # the tab's own connection carries them; two would clash on ports
            history_file=history_file,
        )
        self.service = TransferService(
            self.core.supervisor, host=profile.name, decide=decide, requests=requests
        )
        self._started = False

    @classmethod
    def for_tab(
        cls,
        tab: Session,
        prompter: Prompter,
        *,
        decide: ExistsDecider,
        store: ProfileStore | None = None,
        history_file: Path | None = None,
    ) -> TransferSession:
        """The transfers of ``tab``'s profile, on a second connection made like the tab's."""
        return cls(tab.profile, prompter, decide=decide, store=store, history_file=history_file)

    @property
    def started(self) -> bool:
        return self._started

    async def start(self) -> None:
        """Connect (and keep connecting); returns at once. Transfers queued before wait for
        the link. A second call does nothing."""
        if self._started:
            return
        self._started = True
        await self.core.start()

    async def close(self) -> None:
        """Stop the queue, then the connection (if it was ever started); partial files of
        unfinished transfers stay (no later session can resume them, so an owner that is
        done with them cancels or discards first)."""
        try:
            await self.service.close()
        finally:
            if self._started:
                await self.core.close()

    # --- the connection -------------------------------------------------------------------

    def on_update(self, listener: Listener) -> None:
        """Call ``listener`` with every status change and notice of the connection."""
        self.core.on_update(listener)

    def status(self) -> Status:
        return self.core.status()

    # --- the queue ------------------------------------------------------------------------

    def add_listener(self, listener: TransferListener) -> None:
        """Call ``listener`` with a ``TransferView`` on every change of any transfer."""
        self.service.add_listener(listener)

    def remove_listener(self, listener: TransferListener) -> None:
        """Stop calling ``listener`` (its view closed)."""
        self.service.remove_listener(listener)

    def upload(
        self,
        local_paths: Sequence[Path],
        remote_dir: str | None = None,
        on_conflict: Existing | None = None,
    ) -> list[int]:
        """Queue each local file to go into ``remote_dir`` (None: the login directory); their
        ids, in order."""
        return [self.service.upload(path, remote_dir, on_conflict) for path in local_paths]

    def download(
        self,
        remote_paths: Sequence[str],
        local_dir: Path,
        on_conflict: Existing | None = None,
    ) -> list[int]:
        """Queue each remote file (relative: to the login directory) to come into
        ``local_dir``; their ids, in order."""
        return [self.service.download(path, local_dir, on_conflict) for path in remote_paths]

    def transfers(self) -> list[TransferView]:
        """Every transfer of this session, oldest first: state, done/size, rate, ETA, why."""
        return self.service.transfers()

    def view(self, ident: int) -> TransferView:
        return self.service.view(ident)

    def cancel(self, ident: int) -> None:
        """Stop a transfer still to finish and remove its partial files."""
        self.service.cancel(ident)

    def retry(self, ident: int) -> None:
        """Queue a failed or cancelled transfer again (resuming a kept partial file)."""
        self.service.retry(ident)

    def discard(self, ident: int) -> None:
        """Remove a failed transfer's kept partial files."""
        self.service.discard(ident)

    async def wait_idle(self) -> None:
        """Wait until nothing is queued, running or waiting for the link."""
        await self.service.wait_idle()


def _nothing_arrives(_data: bytes) -> None:
    """A bare connection has no channel: nothing ever arrives here."""

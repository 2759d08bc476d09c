"""The profile manager's Import buttons: PuTTY's saved sessions and ~/.ssh/config, saved as
profiles beside the existing ones (never replacing one), with a short report."""

from __future__ import annotations

from collections.abc import Callable

from termkeep.config.errors import ConfigError
from termkeep.config.importing import ImportPlan, ImportReport, save_plan
from termkeep.config.putty import read_putty_sessions, resolve_sessions_dir
from termkeep.config.store import ProfileStore


def read_ssh_config_plan() -> ImportPlan:
    """What ~/.ssh/config would import."""
    # asyncssh (its config parser) takes about 0.5 s to import; only an import pays for it.
    from termkeep.transport.ssh_config_import import read_ssh_config  # noqa: PLC0415

    return read_ssh_config()


def read_putty_plan() -> ImportPlan:
    """What PuTTY's saved sessions (its default place) would import."""
    return read_putty_sessions(resolve_sessions_dir(None))


def import_into(store: ProfileStore, read: Callable[[], ImportPlan]) -> str:
    """Import with ``read`` into ``store`` and say how it went, in a few lines."""
    try:
        report = save_plan(store, read(), overwrite=False)
    except (ConfigError, OSError) as error:
        return f"Import failed: {error}"
    return report_text(report)


def report_text(report: ImportReport) -> str:
    """An import's outcome in a few lines."""
    lines = [f"Imported {len(report.imported)} from {report.origin}"]
    lines += [f"  + {entry.profile.name}" for entry in report.imported]
    lines += [f"  - {entry.source}: {entry.reason}" for entry in report.skipped]
    return "\n".join(lines)

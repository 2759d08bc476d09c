"""termkeep: the SSH terminal that never loses your work."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("termkeep")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"

"""termkeep: the SSH terminal that never loses your work."""


def version() -> str:
    """The installed package's version (``0.0.0+source`` in a never-installed source tree).

    Looked up only when asked: importlib.metadata takes ~40 ms to import, which every start of
    the app would otherwise pay before its first frame.
    """
    from importlib.metadata import PackageNotFoundError  # noqa: PLC0415
    from importlib.metadata import version as installed_version  # noqa: PLC0415

    try:
        return installed_version("termkeep")
    except PackageNotFoundError:
        return "0.0.0+source"


def __getattr__(name: str) -> str:
    """``termkeep.__version__``, computed on first use."""
    if name == "__version__":
        return version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""What termkeep writes as it runs: connection history, session logs, the open tabs.

Pure (no textual, no asyncssh); the file primitives (private, atomic, append-only) are
``platform.files``'.
"""

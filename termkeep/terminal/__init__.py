"""Terminal emulation: bytes in, cells out. Imports neither textual nor asyncssh."""

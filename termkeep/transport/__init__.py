"""SSH connections (the only layer that imports asyncssh) and remote tmux commands."""

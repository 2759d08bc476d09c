"""Pure configuration: profiles, their TOML store, importers. Imports neither textual nor asyncssh."""

"""Pure configuration: profiles, their TOML store, importers (no textual, no asyncssh)."""

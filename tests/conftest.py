"""Shared pytest setup: the real-sshd and network-fault fixtures live in tests/fixtures."""

# The guard first: it moves the run into its own network namespace before anything starts.
pytest_plugins = ["tests.fixtures.netguard_plugin", "tests.fixtures.plugin"]

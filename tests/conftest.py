"""Shared pytest setup: the real-sshd and network-fault fixtures live in tests/fixtures."""

pytest_plugins = ["tests.fixtures.plugin"]

"""Keeps a Session attached: a pure reconnect state machine and the runner of its effects."""

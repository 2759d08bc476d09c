"""Widgets of the app: tabs, session panes, status line."""

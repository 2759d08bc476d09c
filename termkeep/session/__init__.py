"""What keeps a connection: the session core, and a tab's terminal on top of it."""

"""Operating-system code, the one folder a port to another system touches: private files,
the raw terminal, stop signals, network routes, TCP socket options. Imports nothing of
termkeep but ``paths``."""

"""SSH over asyncssh: authentication (auth.py), jump hosts (hops.py), the links a connection
carries (link.py) and the connector that makes one (connector.py)."""

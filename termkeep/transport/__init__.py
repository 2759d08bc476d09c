"""SSH connections: the only layer that imports asyncssh. ``link.py`` is the contract the
layers above use (the ``Link``, its side channels, the ``AttachStrategy`` a caller hands to
the connector); ``ssh/`` makes real connections."""

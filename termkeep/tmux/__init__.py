"""Everything about the remote tmux: session names (names.py), how a tab attaches (attach.py,
the ``AttachStrategy`` the connector runs), the sessions termkeep made on a host
(sessions.py), scrollback pages and their helper shell (scrollback.py) and the SGR parser of
captured lines (sgr.py). No asyncssh here: commands run through the ``Link``'s side channels.
"""

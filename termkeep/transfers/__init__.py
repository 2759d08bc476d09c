"""Files over a session: uploads and downloads on a second connection of the profile.

A ``TransferService`` (service.py) keeps a queue of transfers on a connection the supervisor
keeps up (a bare ``ConnectionLink``: no PTY, no tmux), so bulk data never queues in front of a
tab's keystrokes and a drop only pauses a transfer: it resumes on the next link from the last
offset every write below was acknowledged at. names.py makes remote names safe as local ones,
pipeline.py moves the bytes (pipelined SFTP requests), local.py holds the local end's
partial files, checks.py the end-to-end checks. Owned through
``session.transfers.TransferSession`` by the app's tabs and by ``termkeep put`` /
``termkeep get`` (headless/transfer.py).
"""

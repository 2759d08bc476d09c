"""`termkeep attach`: one session in the current terminal, like ssh, without the Textual UI.

It sits beside ``termkeep.ui`` in the layers and is the living proof that the core (session,
supervisor, transport) runs without textual.
"""

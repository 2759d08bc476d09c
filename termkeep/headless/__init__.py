"""`termkeep attach` and `termkeep tunnel`: session cores in the current terminal, like ssh,
without the Textual UI.

It sits beside ``termkeep.ui`` in the layers and is the living proof that the core (session,
supervisor, transport) runs without textual. How these commands stop is the session core's
(``session.stop.HeadlessRun``), so both stop alike.
"""

"""The Textual app. Nothing outside cli imports it."""

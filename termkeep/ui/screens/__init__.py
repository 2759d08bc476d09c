"""Modal screens: pickers, questions, prompts and the profile manager."""

"""The Textual operator console: screens, widgets and dialogs over the engine."""

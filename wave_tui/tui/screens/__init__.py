"""The console's screens and modal dialogs."""

"""The console's widgets: the header, the stories table, the story detail, cell renderers."""

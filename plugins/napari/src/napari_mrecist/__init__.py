"""napari plugin for mrecist-tool."""

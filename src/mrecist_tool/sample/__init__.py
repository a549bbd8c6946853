"""mrecist_tool."""

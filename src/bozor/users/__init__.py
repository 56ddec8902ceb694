"""Users: one row per person, shared by every feature."""

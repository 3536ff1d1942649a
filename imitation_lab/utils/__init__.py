"""The floor: atomic file writes, seeding, and a test hook."""

"""Discovery: candidate patterns mined from what the developer writes (shapes that repeat across the workspace)."""

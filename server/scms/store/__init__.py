"""The pattern store: SQLite events and projections, validated-tier files, and the lifecycle."""

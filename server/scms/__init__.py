"""SCMS: Sparse Contextual Memory Scaffolding, a pattern memory for developers and their AI assistants."""

__version__ = "0.1.0"

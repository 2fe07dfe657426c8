"""Recall: the code context at a position, the lexical index, and ranking with reasons."""

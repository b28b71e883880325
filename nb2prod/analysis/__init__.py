"""Analyse: each code cell with libcst (what it binds, reads and imports), cached on disk."""

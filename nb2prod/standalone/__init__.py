"""Modules that run outside nb2prod's own process: standard library and each other only.

The recorder runs inside the notebook's kernel, the replay child imports the case
files and comparators, and ``compare``/``casefile`` are copied verbatim into every
generated package's tests. ``tests/test_layout.py`` enforces the import rule.
"""

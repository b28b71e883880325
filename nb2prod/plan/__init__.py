"""Plan the package from the analysed cells: pure decisions, no I/O."""

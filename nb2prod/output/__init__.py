"""Write the package atomically, record it in the lock, and check it against the lock."""

"""The ``nb2prod`` command line: options, commands and what they print."""

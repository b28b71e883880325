"""Run nb2prod as ``python -m nb2prod``."""

from nb2prod.cli.quick import main

main()

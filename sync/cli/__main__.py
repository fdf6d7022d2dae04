"""``python -m sync.cli``: the ``hr2bi`` command without its console script."""

from sync.cli import main

main()

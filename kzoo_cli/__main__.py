"""``python -m kzoo_cli``: the ``kzoo`` command."""

from kzoo_cli.main import main

main()

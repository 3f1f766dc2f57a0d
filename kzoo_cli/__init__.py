"""The ``kzoo`` command line, kept apart from the ``kzoo`` package so that it starts at once.

``import kzoo`` loads TensorFlow and Keras (it registers every serializable
class), which takes seconds; parsing a command line, ``--help`` included,
needs neither. The subcommands import ``kzoo`` only when their work starts.
"""

from kzoo_cli.main import build_parser, main

__all__ = ["build_parser", "main"]

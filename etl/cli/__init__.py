"""The ``dailyseg`` command line: ``main`` (argument parsing, errors as one line), the commands, the
printers and the progress bar."""

from etl.cli.main import entry, main

__all__ = ["entry", "main"]

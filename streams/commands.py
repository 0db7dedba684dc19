"""What every package's command line is added to: ``spikewatch``'s subcommands.

Each package that has commands keeps their argument parsers beside them (its
``cli`` module), with an adapter from the parsed arguments to the command's own
options; :mod:`streams.cli` assembles them and turns errors into one line.
The adapters import their command's module only when it runs, so ``spikewatch
schema`` does not load Faust.
"""

from __future__ import annotations

import argparse
from typing import TypeAlias

Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

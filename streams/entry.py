"""The ``spikewatch`` console script: :func:`streams.cli.main`, imported only once the
process has started, so that an import that fails is a line a person can act on.

Why not point the script at ``streams.cli:main`` directly: the command line imports
the decision core, and ``import alerting`` refuses a compiled core whose sources
changed since it was built (:class:`alerting.compiled.StaleBuildError`, an
``ImportError``). Raised while the script's own module is imported, that would reach
the person as a traceback; here it is one line and exit status 2, like every other
error the command line reports.
"""

from __future__ import annotations

import sys

SETUP_HINT = "run ./dev setup (or pip install -e .) to set up the virtualenv"


def main() -> int:
    try:
        from streams.cli import main as run_command_line
    except ImportError as error:
        reason = str(error)
        remedy = "" if "./dev setup" in reason else f"; {SETUP_HINT}"
        print(f"error: {reason}{remedy}", file=sys.stderr)
        return 2
    return run_command_line()

#!/usr/bin/env python3
"""Run the local Kafka broker: ``fetch``, ``start``, ``stop``, ``status``, ``wipe`` (``--help``).

A thin entry point to the ``localkafka`` package beside it. Python puts this
file's folder first on ``sys.path``, so the package is found with any Python
3.11+ before the project's virtualenv exists (``./dev setup`` fetches the jars
with it first).
"""

import sys

from localkafka.cli import main

if __name__ == "__main__":
    sys.exit(main())

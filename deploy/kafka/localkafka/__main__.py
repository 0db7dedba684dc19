"""``python -m localkafka``: the same command line as ``deploy/kafka/local_broker.py``."""

from __future__ import annotations

import sys

from localkafka.cli import main

sys.exit(main())

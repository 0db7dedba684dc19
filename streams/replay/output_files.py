"""Files that replay and calibrate write once their reading is over.

Reading takes minutes over many seeds and hours over a topic's retained history, so a
path that cannot be written is said before the reading starts, not in a traceback after
it. A missing directory is made: ``.run/``, where the docs put cards and figures, exists
only once a demo has run.
"""

from __future__ import annotations

import os
from pathlib import Path

from models.errors import SpikewatchError


class OutputFileError(SpikewatchError):
    """A card, figures or policy file that cannot be written where it was asked for."""


def prepare_output(path: str | None, what: str) -> None:
    """Make ``path``'s directory and check that it can be written; ``None`` and ``-``
    (standard output) need nothing."""
    if path is None or path == "-":
        return
    parent = Path(path).parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputFileError(
            f"cannot make {parent} for the {what} ({error.strerror}): choose another path"
        ) from error
    if not os.access(parent, os.W_OK):
        raise OutputFileError(f"cannot write the {what} into {parent}: choose another path")


def write_output(path: str, data: bytes, what: str) -> None:
    try:
        Path(path).write_bytes(data)
    except OSError as error:
        raise OutputFileError(
            f"cannot write the {what} to {path} ({error.strerror}): choose another path"
        ) from error

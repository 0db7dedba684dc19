"""Files that replay, calibrate and produce write once their reading or building is over.

Reading takes minutes over many seeds and hours over a topic's retained history, so a
path that cannot be written is said before the reading starts, not in a traceback after
it. A missing directory is made: ``.run/``, where the docs put cards and figures, exists
only once a demo has run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

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


@contextmanager
def output_file(path: str, what: str) -> Iterator[BinaryIO]:
    """``path`` opened for writing; a failure to open or to write it (a full disk) is one
    line that names the file."""
    try:
        with Path(path).open("wb") as sink:
            yield sink
    except OSError as error:
        raise OutputFileError(
            f"cannot write the {what} to {path} ({error.strerror}): choose another path"
        ) from error


def write_output(path: str, data: bytes, what: str) -> None:
    with output_file(path, what) as sink:
        sink.write(data)

"""The one exception hierarchy of spikewatch, and the one way a validation error becomes a line.

It sits in ``models/`` because that is the bottom layer: the decision core, the
shell and the tools all import it, and it imports only pydantic. The command
line catches :class:`SpikewatchError` once (``streams.cli.main``), prints
``error: <message>; <what to do>`` and exits with :attr:`SpikewatchError.exit_code`;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from typing import NamedTuple

from pydantic import ValidationError


class SpikewatchError(Exception):
    """A problem a person can fix; the message is one line and names what is wrong.

    ``remedy`` is what to do about it, printed after the message; subclasses set
    it once for their kind of problem.
    """

    exit_code = 2
    remedy = ""

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))

    def line(self) -> str:
        """What the command line prints: the problem, then what to do."""
        return f"{self}; {self.remedy}" if self.remedy else str(self)


class ValidationProblem(NamedTuple):
    """The first error of a pydantic validation, without the input (it may be a secret)."""

    location: tuple[str | int, ...]
    message: str
    kind: str

    @property
    def dotted(self) -> str:
        return ".".join(str(part) for part in self.location)


def first_problem(error: ValidationError) -> ValidationProblem:
    first = error.errors(include_url=False, include_input=False)[0]
    return ValidationProblem(tuple(first["loc"]), first["msg"], first["type"])


def one_line(text: str, limit: int = 500) -> str:
    """White space folded, cut at ``limit`` characters: safe for a terminal or a log field."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"

"""The one error a person running the local broker is shown."""

from __future__ import annotations


class BrokerError(RuntimeError):
    """A failure a person can act on.

    The message is always one line that says what to do; ``details`` (e.g. a log
    tail) is printed after it only when it helps. ``exit_code`` 2 means a
    required tool is missing, so wrappers can tell "install something" apart
    from "the broker broke".
    """

    def __init__(self, message: str, *, exit_code: int = 1, details: str = "") -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.details = details

"""Read the high-profile watchlist file, and re-read it when it changes, without a restart.

The shell checks the file's modification time on every tick (one ``stat`` a
second) and, when it moved, hands the core a new frozen set; the core never
touches the file system while deciding.
"""

from __future__ import annotations

from pathlib import Path

from alerting.policy import Policy, PolicyError
from alerting.watchlist import parse_watchlist


def read_watchlist(path: Path) -> frozenset[str]:
    try:
        return parse_watchlist(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise PolicyError(f"watchlist file {path}: {error.strerror}") from error
    except UnicodeDecodeError as error:
        raise PolicyError(f"watchlist file {path}: not UTF-8 text (byte {error.start})") from error


def policy_watchlist(policy: Policy) -> frozenset[str]:
    """The policy's inline broadcasters plus those of its watchlist file."""
    listed = policy.high_profile.broadcasters
    path = policy.high_profile.watchlist_file
    return listed if path is None else listed | read_watchlist(path)


class WatchlistFile:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.path = policy.high_profile.watchlist_file
        self._mtime_ns = self._stat()

    def current(self) -> frozenset[str]:
        """The whole list as it stands: what the engine starts with."""
        return policy_watchlist(self.policy)

    def changed(self) -> frozenset[str] | None:
        """The new watchlist if the file changed since the last look, else None.

        Raises :class:`PolicyError` once when the file has gone or cannot be read;
        the caller keeps the list it has, and the next change is picked up as usual.
        """
        if self.path is None:
            return None
        mtime_ns = self._stat()
        if mtime_ns == self._mtime_ns:
            return None
        self._mtime_ns = mtime_ns
        if mtime_ns is None:
            raise PolicyError(f"watchlist file {self.path} has gone; keeping the previous list")
        return self.policy.high_profile.broadcasters | read_watchlist(self.path)

    def _stat(self) -> int | None:
        if self.path is None:
            return None
        try:
            return self.path.stat().st_mtime_ns
        except OSError:
            return None

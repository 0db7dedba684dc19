"""The high-profile watchlist: broadcaster ids whose incidents go one severity up.

Kept in its own file (named by the policy) so trust & safety can edit it without
a policy release or a restart; the shell re-reads it when it changes and hands
the engine the new frozen set.
"""

from __future__ import annotations

from pathlib import Path

from alerting.policy import Policy, PolicyError


def parse_watchlist(text: str) -> frozenset[str]:
    """One broadcaster id a line; blank lines and ``#`` comments are ignored."""
    ids = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return frozenset(broadcaster for broadcaster in ids if broadcaster)


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

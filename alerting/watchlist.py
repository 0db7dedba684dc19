"""The high-profile watchlist: broadcaster ids whose incidents go one severity up.

Kept in its own file (named by the policy) so trust & safety can edit it without
a policy release or a restart. Only its format lives in the core; the shell
(:mod:`streams.worker.watchlist_file`) reads the file and hands the engine the
frozen set.
"""

from __future__ import annotations


def parse_watchlist(text: str) -> frozenset[str]:
    """One broadcaster id a line; blank lines and ``#`` comments are ignored."""
    ids = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return frozenset(broadcaster for broadcaster in ids if broadcaster)

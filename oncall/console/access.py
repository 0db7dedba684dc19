"""Who may act in the console, and how a person is named in what it writes.

Bound to the default loopback address, only people on the machine reach the
console, and it trusts them. Bound anywhere else (including other loopback
addresses, which a container's port mapping or a local proxy may publish) it
requires authentication, and refuses to start without a way to authenticate.

People are never named: the console writes a *pseudonymous id*, a keyed hash
of their login, so logs and verdicts can tell two people apart and the
operators holding the key can find out who acted, but a reader of the topic
cannot.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

TRUSTED_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
LOCAL_LOGIN = "local"
PSEUDONYM_PREFIX = "p-"


def requires_auth(host: str) -> bool:
    return host not in TRUSTED_HOSTS


def pseudonymous_id(login: str, key: bytes) -> str:
    digest = hmac.new(key, login.encode(), hashlib.sha256).hexdigest()
    return f"{PSEUDONYM_PREFIX}{digest[:20]}"


def parse_tokens(text: str) -> dict[str, str]:
    """Token file: one ``login:token`` per line (a bare token stands for login 'token').

    Returns token -> login; blank lines and ``#`` comments are skipped.
    """
    tokens: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        login, separator, token = line.rpartition(":")
        tokens[token if separator else line] = login if separator and login else "token"
    return tokens


def bearer_login(authorization: str | None, tokens: Mapping[str, str]) -> str | None:
    """The login a valid ``Authorization: Bearer`` header stands for, compared in constant time."""
    if not authorization:
        return None
    scheme, _, presented = authorization.partition(" ")
    if scheme.lower() != "bearer" or not presented:
        return None
    found = None
    for token, login in tokens.items():
        if hmac.compare_digest(token.encode(), presented.strip().encode()):
            found = login
    return found


def csrf_matches(cookie: str | None, submitted: str | None) -> bool:
    """Double-submit check: the form must carry the value of the console's own cookie."""
    if not cookie or not submitted:
        return False
    return hmac.compare_digest(cookie.encode(), submitted.encode())

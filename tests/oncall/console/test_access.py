"""Who may act in the console and how people are named in what it writes."""

from __future__ import annotations

from oncall.console.access import (
    bearer_login,
    csrf_matches,
    parse_tokens,
    pseudonymous_id,
    requires_auth,
)


def test_only_the_default_loopback_addresses_are_trusted() -> None:
    assert not requires_auth("127.0.0.1")
    assert not requires_auth("::1")
    assert requires_auth("127.0.0.2")
    assert requires_auth("::")  # every interface
    assert requires_auth("192.0.2.10")  # one routable interface (a documentation address)


def test_pseudonymous_id_is_stable_keyed_and_hides_the_login() -> None:
    first = pseudonymous_id("ana@example.org", b"key")
    assert first == pseudonymous_id("ana@example.org", b"key")
    assert first != pseudonymous_id("ana@example.org", b"other key")
    assert first != pseudonymous_id("bo@example.org", b"key")
    assert "ana" not in first
    assert first.startswith("p-")


def test_token_file_lines_name_their_login() -> None:
    tokens = parse_tokens("# comment\nana:s3cret\n\nbare-token\n")
    assert tokens == {"s3cret": "ana", "bare-token": "token"}
    assert bearer_login("Bearer s3cret", tokens) == "ana"
    assert bearer_login("bearer bare-token", tokens) == "token"
    assert bearer_login("Bearer wrong", tokens) is None
    assert bearer_login("Basic s3cret", tokens) is None
    assert bearer_login(None, tokens) is None


def test_csrf_needs_the_cookie_and_the_same_value_in_the_form() -> None:
    assert csrf_matches("abc", "abc")
    assert not csrf_matches("abc", "abd")
    assert not csrf_matches(None, "abc")
    assert not csrf_matches("abc", "")

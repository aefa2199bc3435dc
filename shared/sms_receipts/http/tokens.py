"""Secrets given in requests (the callback's `?token=`, the send log's Bearer token), checked one way."""

from __future__ import annotations

import hmac


def matches_any(given: str, tokens: tuple[str, ...]) -> bool:
    """Whether `given` is one of `tokens`, compared in constant time with every one of them (no early
    exit to time; several are accepted at once, for rotation). Nothing matches an empty value."""
    if not given or not tokens:
        return False
    value = given.encode("utf-8")
    matched = False
    for expected in tokens:
        matched |= hmac.compare_digest(value, expected.encode("utf-8"))
    return matched

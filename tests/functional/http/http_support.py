"""Helpers for the HTTP function tests."""

from __future__ import annotations

import uuid

from sms_receipts_dev.testing.fc import fc_context

from function_support import ROOT, load_function  # noqa: F401 - re-exported for the HTTP tests

TOKEN = "test-token-0123456789"
OTHER_TOKEN = "rotated-token-abcdef"


def context():
    return fc_context(f"test-{uuid.uuid4().hex[:8]}")

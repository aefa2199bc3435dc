"""Alibaba Cloud RPC request authentication (ACS3 and V1): the shared `..rpc.auth`, re-exported here."""

from ..rpc.auth import (
    ACS3,
    MAX_CLOCK_SKEW_SECONDS,
    NonceCache,
    acs3_canonical_request,
    acs3_signature,
    authenticate,
    percent,
    v1_signature,
)

__all__ = [
    "ACS3",
    "MAX_CLOCK_SKEW_SECONDS",
    "NonceCache",
    "acs3_canonical_request",
    "acs3_signature",
    "authenticate",
    "percent",
    "v1_signature",
]

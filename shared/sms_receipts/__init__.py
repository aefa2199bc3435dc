"""Alibaba Cloud SMS receipts (回执消息), parsed once and stored idempotently in Tablestore."""

__version__ = "0.1.0"

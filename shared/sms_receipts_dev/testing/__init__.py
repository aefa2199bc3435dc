"""Helpers for tests, examples and local runs: never part of a deployed function package."""

"""The process's own refusal: settings that cannot work together."""

from __future__ import annotations


class ConfigError(Exception):
    """Settings that cannot work together; the message says which and how to fix it."""

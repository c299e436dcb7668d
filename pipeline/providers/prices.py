"""Shipped default prices. Check them against your provider's price page: they change.

Text: USD per million tokens, (input, output). Media: USD per output (image or clip).
"""

from __future__ import annotations

TEXT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
    "claude-sonnet-4-5": (3.00, 15.00),
    "claude-haiku-4-5": (1.00, 5.00),
    "claude-opus-4-1": (15.00, 75.00),
}

MEDIA_PRICES: dict[str, float] = {
    "fal-ai/flux-pro/v1.1-ultra": 0.06,
}

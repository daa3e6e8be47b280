"""A deliberately slow tool for the "tool call cancelled by an interruption" recording (``--tools`` module)."""

from __future__ import annotations

import asyncio
from typing import Any


async def lookup_manual(product: str = "XR-7") -> dict[str, Any]:
    """Look up the user manual of a product (slow on purpose: it takes 3 seconds).

    Args:
        product: The product name or model number.
    """
    await asyncio.sleep(3.0)
    return {"product": product, "manual": "https://example.invalid/manuals/" + product.replace(" ", "-").lower()}

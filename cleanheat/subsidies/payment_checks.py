"""Pre-payment checks (issue #16 part 6); the notice branch fills this in."""


def blocking(entitlement_ids) -> dict[int, list[str]]:
    """Pre-payment checks (issue #16 part 6); the notice branch fills this in."""
    return {}

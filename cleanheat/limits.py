"""Plausible ranges of the reference data the administrators keep in the admin (climate,
envelopes, tariffs, heat sources, gas contracts): a model's clean() names each field outside
its range in Chinese, so a typo is refused before a calculation divides by it."""
import math

from django.core.exceptions import ValidationError


def _reason(low, high) -> str:
    if low is not None and high is not None:
        return f"应在{low}到{high}之间"
    return f"不应小于{low}" if low is not None else f"不应大于{high}"


def range_errors(instance, limits: dict) -> dict[str, list[str]]:
    """{field: [message]} for the fields of `instance` outside `limits` {field: (low, high)}
    (inclusive, None = open); a field left empty is not checked here."""
    errors = {}
    for name, (low, high) in limits.items():
        value = getattr(instance, name)
        if value is None:
            continue
        value = float(value)   # a decimal 0.01 is not below the limit 0.01
        if not math.isfinite(value) or (low is not None and value < low) or (high is not None and value > high):
            errors[name] = [f"“{instance._meta.get_field(name).verbose_name}”{_reason(low, high)}"]
    return errors


def check_ranges(instance, limits: dict, extra: dict | None = None) -> None:
    errors = {**range_errors(instance, limits), **(extra or {})}
    if errors:
        raise ValidationError(errors)

"""Whole-column versions of the identity checks, for imports of a county's or the city's ledger.

Pure polars, no Django. Each function only *recognises* values that are certainly valid in their
plain form; anything else is left to the one-value functions in `identity`, which also phrase the
message, so a column check can never accept what a form would refuse.
"""
from datetime import date

import polars as pl

from .identity import ID_CHECK_CHARS, ID_WEIGHTS


def plain_id_numbers(ids: pl.Series, today: date) -> pl.Series:
    """True where the text is an 18-character ID number (lower-case x allowed) with a valid birth
    date and check character, exactly as identity.normalise_id_number accepts it."""
    frame = pl.DataFrame({"id": ids.cast(pl.String)})
    text = pl.col("id").str.to_uppercase()
    shape = pl.col("id").str.contains(r"^[0-9]{17}[0-9Xx]$").fill_null(False)
    total = pl.sum_horizontal([text.str.slice(i, 1).cast(pl.Int64, strict=False) * w for i, w in enumerate(ID_WEIGHTS)])
    expected = pl.lit(pl.Series(list(ID_CHECK_CHARS))).get(total % 11)
    born = text.str.slice(6, 8).str.to_date("%Y%m%d", strict=False)
    valid = shape & (text.str.slice(17, 1) == expected) & born.is_not_null() & \
        (born.dt.year() >= 1880) & (born <= pl.lit(today))
    return frame.select(pl.when(shape).then(valid).otherwise(False).fill_null(False)).to_series()


def matches(values: pl.Series, pattern: str) -> pl.Series:
    return values.cast(pl.String).str.contains(pattern).fill_null(False)

"""Names of downloaded files: what, for which region, when (local time, Asia/Shanghai), so that a
clerk's downloads folder tells them apart: 导出台账-忻府区-20221015-0930.xlsx."""
from django.utils import timezone

ILLEGAL = str.maketrans({c: "_" for c in '\\/:*?"<>|'})


def stamped(what: str, place: str, at=None, suffix: str = ".xlsx") -> str:
    """`at` (an aware datetime, default now) is shown in the server's local time zone."""
    when = timezone.localtime(at) if at is not None else timezone.localtime()
    return f"{what}-{place}-{when:%Y%m%d-%H%M}{suffix}".translate(ILLEGAL)

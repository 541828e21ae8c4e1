"""The words and units of subsidy arithmetic, and how its numbers read. Pure, no Django.

Units throughout: amounts are whole fen (分); shares of a price and of the levels are basis points
(70 % = 7000); envelope rates are fen per m²; operating rates are 1/10000 yuan per unit (0.20 元/kWh
= 2000); areas are tenths of a m²; meter readings hundredths of a unit.
"""
from cleanheat.ledger.lifecycle import STEPS

KINDS = ("equipment", "envelope", "operating")
KIND_LABELS = {"equipment": "设备补贴", "envelope": "建筑节能改造补贴", "operating": "运行补贴"}
METHODS = {"share": "按合同价比例", "fixed": "定额"}
UNITS = {"kwh": "kWh", "m3": "m³", "gj": "GJ"}
UNIT_MEASURES = {"kwh": "电量", "m3": "用气量", "gj": "用热量"}
LEVELS = ("central", "provincial", "city", "county")
LEVEL_LABELS = {"central": "中央", "provincial": "省级", "city": "市级", "county": "县级"}
FLAGS = ("is_dibao", "is_tekun", "is_tuopin", "is_canji")
FLAG_LABELS = {"is_dibao": "低保", "is_tekun": "特困", "is_tuopin": "脱贫", "is_canji": "残疾"}
BP = 10_000            # 100 % in basis points
RATE_SCALE = 10_000    # operating rate units per yuan
ACCEPTED = STEPS.index("accepted")
NONE = -1              # "no value" in the batch's integer columns
TENTHS = [f".{d}" if d else "" for d in range(10)]
HUNDREDTHS = [f".{d:02d}".rstrip("0") if d else "" for d in range(100)]
CENTS = [f".{d:02d}" if d else "" for d in range(100)]


def yuan(fen: int) -> str:
    """12,800 or 12,800.50 (yuan, with the fen only when there are any)."""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{'-' if fen < 0 else ''}{whole:,}{CENTS[cents]}"


def percent(bp: int) -> str:
    whole, frac = divmod(int(bp), 100)
    return f"{whole}{HUNDREDTHS[frac]} %"


def hundredths(value: int) -> str:
    """3,200 or 3,200.5 (a quantity kept in hundredths)."""
    whole, frac = divmod(int(value), 100)
    return f"{whole:,}{HUNDREDTHS[frac]}"


def tenths(value: int) -> str:
    whole, frac = divmod(int(value), 10)
    return f"{whole:,}{TENTHS[frac]}"


def rate_text(rate: int) -> str:
    """1/10000 yuan → "0.2", "0.125", "12"."""
    whole, frac = divmod(int(rate), RATE_SCALE)
    return f"{whole:,}" + (f".{frac:04d}".rstrip("0") if frac else "")


def season_label(season: int) -> str:
    return f"{season}–{season + 1}采暖季"


def flag_text(flags) -> str:
    return "、".join(FLAG_LABELS[f] for f in FLAGS if f in flags)

"""Deterministic synthetic Xinzhou demo households on the real townships and villages (no Django).

Everything comes from the config file, the regions given and a fixed seed, so two runs give
identical data. Each county's households are spread over its villages in proportion to the
villages' weights (by kind, from the config). People are invented; ID numbers carry a valid
checksum and their household's county code.
"""
import random
from datetime import date, timedelta

from .identity import id_check_char

SURNAMES = ("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
            "苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦")
GIVEN = ("建国志强秀英桂兰玉梅海燕春生俊峰丽娟红霞德福永胜淑珍文华明亮晓东国庆金凤云龙宝山"
         "瑞芳素琴振华二虎满仓翠花保平兰英长青来顺润生小军")
STRUCTURE_MIX = {"brick_concrete": 55, "brick_wood": 25, "adobe": 12, "stone": 5, "frame": 3}
FACILITY_MIX = {"coal_stove": 45, "tunuanqi": 35, "kang": 15, "coal_boiler": 5}
ORDER = ["confirmed", "selected", "installing", "installed", "accepted", "proven", "removed"]


def split_exact(total: int, weights: dict, ties: dict | None = None) -> dict:
    """Largest-remainder split of `total` in proportion to `weights`; sums exactly. Equal
    remainders go first to the keys ranked lowest in `ties` (default: the keys' own order)."""
    wsum = sum(weights.values())
    raw = {k: total * w / wsum for k, w in weights.items()}
    out = {k: int(v) for k, v in raw.items()}
    rank = ties or {k: k for k in weights}
    for k in sorted(raw, key=lambda k: (out[k] - raw[k], rank[k]))[: total - sum(out.values())]:
        out[k] += 1
    return out


def village_weights(cfg: dict, villages) -> dict:
    """{county: {village code: weight}} from (code, kind) pairs and the config's weight per kind."""
    weights = cfg["village_weights"]
    out: dict = {}
    for code, kind in villages:
        out.setdefault(code[:6], {})[code] = weights.get(kind, 1)
    return out


def spread(n: int, weights: dict, rng) -> list:
    """`n` village codes, each village appearing its weighted share of `n` times (within one)."""
    order = list(weights)
    rng.shuffle(order)  # which villages get the odd household when the shares tie
    counts = split_exact(n, weights, ties={k: i for i, k in enumerate(order)})
    return [code for code in weights for _ in range(counts[code])]


def county_path_counts(cfg: dict, scale: float = 1.0) -> dict:
    """{county: {path: households}}; each path's column sums to its (scaled) city target."""
    result = {c: {} for c in cfg["counties"]}
    for path, target in cfg["targets"].items():
        weights = {c: spec["weights"][path] for c, spec in cfg["counties"].items()}
        for county, n in split_exact(round(target * scale), weights).items():
            result[county][path] = n
    return result


def _name(rng, chars, n):
    return "".join(rng.choice(chars) for _ in range(n))


def _weighted(rng, mix: dict):
    return rng.choices(list(mix), weights=list(mix.values()))[0]


def _id_number(rng, address_code: str, used: set) -> str:
    while True:
        born = date(1938, 1, 1) + timedelta(days=rng.randrange(0, 365 * 62))
        first17 = f"{address_code}{born:%Y%m%d}{rng.randrange(1, 1000):03d}"
        number = first17 + id_check_char(first17)
        if number not in used:
            used.add(number)
            return number


def _state_dates(rng, year: int, state: str, install_by: date | None = None,
                 delay: int = 0) -> list[tuple[str, date]]:
    """Plausible dates on which a household reached each state up to `state`; installed `delay`
    days later than usual, by `install_by` at the latest (default 15 October, the plan's deadline)."""
    day = date(year, 3, 1) + timedelta(days=rng.randrange(0, 70))       # 确村确户 by 10 May
    steps = [("confirmed", day)]
    gaps = {"selected": (10, 40), "installing": (10, 60), "installed": (15, 60),
            "accepted": (10, 40), "proven": (0, 0), "removed": (10, 60)}
    for name in ORDER[1: ORDER.index(state) + 1]:
        if name == "proven":  # the first heating season ends 27 March of the next year
            day = max(day, date(year + 1, 3, 28))
        elif name == "installed":
            day = min(day + timedelta(days=rng.randint(*gaps[name]) + delay), install_by or date(year, 10, 15))
        else:
            day = day + timedelta(days=rng.randint(*gaps[name]))
        steps.append((name, day))
    return steps


def install_by(cfg: dict, county: str) -> date | None:
    """The latest day a county of this config installs (config "install_by": county or default)."""
    days = cfg.get("install_by", {})
    day = days.get(county, days.get("default"))
    return date.fromisoformat(day) if day else None


def year_config(cfg: dict, later: dict, plan: dict) -> dict:
    """The config of a later demo year: the first year's, with the later plan's year and targets
    (each county exactly its plan target per path), its own seed, state mix and install dates."""
    return {**cfg, "year": plan["year"], "seed": later["seed"], "targets": plan["totals"]["households"],
            "counties": {c: {"weights": spec["targets"]} for c, spec in plan["counties"].items()},
            "state_mix": later["state_mix"], "install_by": later.get("install_by", {}),
            "install_delay": later.get("install_delay", {})}


def generate_households(cfg: dict, villages: dict, scale: float = 1.0, used_ids: set | None = None):
    """Yield one dict per household, village by village. `villages` maps county code →
    {village code: weight} (see village_weights); `used_ids`: ID numbers already given out (by an
    earlier year), never repeated."""
    rng = random.Random(cfg["seed"] + 1)
    used_ids = set() if used_ids is None else used_ids
    year = cfg["year"]
    for county, paths in county_path_counts(cfg, scale).items():
        address_code = cfg.get("id_address_code", {}).get(county, county)
        pool = [p for p, n in paths.items() for _ in range(n)]
        rng.shuffle(pool)
        chosen = spread(len(pool), villages[county], rng)
        for path, village in zip(pool, chosen):
            state = _weighted(rng, cfg["state_mix"])
            device = ""
            if path == "electric" and state != "confirmed":
                device = _weighted(rng, cfg["electric_device_mix"])
            yield {
                "county": county,
                "village": village,
                "householder_name": rng.choice(SURNAMES) + _name(rng, GIVEN, rng.choice((1, 2))),
                "id_number": _id_number(rng, address_code, used_ids),
                "phone": (f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}" if rng.random() < 0.85 else ""),
                "address": f"{rng.randrange(1, 300)}号",
                "household_size": rng.choice((1, 2, 2, 3, 3, 4, 4, 5, 6)),
                "is_dibao": rng.random() < 0.06,
                "is_tekun": rng.random() < 0.01,
                "is_tuopin": rng.random() < 0.10,
                "is_canji": rng.random() < 0.03,
                "heated_area": round(rng.triangular(40, 180, 85), 1),
                "structure": _weighted(rng, STRUCTURE_MIX),
                "envelope_retrofitted": (retrofitted := rng.random() < 0.12),
                "envelope_gain_pct": rng.randint(30, 48) if retrofitted else None,
                "original_facility": _weighted(rng, FACILITY_MIX),
                "heating_path": path,
                "electric_device": device,
                "state": state,
                "steps": _state_dates(rng, year, state, install_by(cfg, county),
                                      cfg.get("install_delay", {}).get(county, 0)),
                "plan_year": year,
            }

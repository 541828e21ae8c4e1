"""The plan's rules as pure checks (no Django): each returns None when satisfied, or the Chinese
message a clerk sees, citing the plan section. The engine gathers their data."""
from datetime import date

SECTION_REMOVAL = "（《实施方案》四：先立后破、不立不破）"
SECTION_GAS = "（《实施方案》四：以气定改、以供定改）"
SECTION_HEAT = "（《实施方案》四.1：热源企业环保绩效须达到B级及以上）"
SECTION_RETROFIT = "（《实施方案》三（四）：既有建筑节能改造后能效水平须提高30%以上）"
SECTION_BIOMASS = "（《实施方案》四：生物质成型燃料锅炉须配备高效烟气净化设施）"


def proven_season(commissioned_on: date | None, seasons: list[tuple[date, date]],
                  outages: list[tuple[date, date | None]], limit_days: int, today: date) -> str | None:
    """先立后破: the first season that started after commissioning must be over, with no outage
    longer than the limit inside it (an unresolved outage runs until today)."""
    if commissioned_on is None:
        return f"尚无完工（投用）日期，不能认定已稳定运行一个采暖季{SECTION_REMOVAL}"
    season = next(((s, e) for s, e in sorted(seasons) if s > commissioned_on), None)
    if season is None:
        return f"{commissioned_on}投用后尚无已配置的采暖季{SECTION_REMOVAL}"
    start, end = season
    if end >= today:
        return f"{commissioned_on}投用后的第一个采暖季（{start}至{end}）尚未结束{SECTION_REMOVAL}"
    for reported, resolved in outages:
        stop = min(resolved or today, end)
        begin = max(reported, start)
        if begin <= stop and (stop - begin).days + 1 > limit_days:
            return (f"采暖季{start}至{end}内有停暖{(stop - begin).days + 1}天（{reported}起），"
                    f"超过允许的{limit_days}天，本采暖季不能认定为稳定运行{SECTION_REMOVAL}")
    return None



def season_voided(commissioned_on: date | None, seasons: list[tuple[date, date]],
                  outages: list[tuple[date, date | None]], limit_days: int, today: date) -> str | None:
    """先立后破, seen during the season: the first season after commissioning (begun by today) already
    holds an outage longer than the limit, so it cannot count as the stable season whatever follows."""
    if commissioned_on is None:
        return None
    season = next(((s, e) for s, e in sorted(seasons) if s > commissioned_on), None)
    if season is None or season[0] > today:
        return None
    start, end = season
    for reported, resolved in outages:
        stop = min(resolved or today, end)
        begin = max(reported, start)
        if begin <= stop and (stop - begin).days + 1 > limit_days:
            return (f"采暖季{start}至{end}内有停暖{(stop - begin).days + 1}天（{reported}起），超过允许的{limit_days}天，"
                    f"该户本采暖季已不能认定为稳定运行{SECTION_REMOVAL}")
    return None

def removal_consent(consent_on: date | None) -> str | None:
    if consent_on is None:
        return f"拆除原取暖设施须先登记居民同意（不得强行拆除）{SECTION_REMOVAL}"
    return None


def gas_supply(contracts: list[dict], demand_covered_m3: float, demand_this_m3: float) -> str | None:
    """以气定改: a contract covering the village, pipeline and safety done, enough volume for all
    coal-to-gas households it covers including this one. `contracts`: dicts with name, volume,
    pipeline_done, safety_passed (summed over the village's contracts)."""
    if not contracts:
        return f"所在村没有签订供气合同，不得新增煤改气户{SECTION_GAS}"
    usable = [c for c in contracts if c["pipeline_done"] and c["safety_passed"]]
    if not usable:
        missing = "、".join(sorted({"管网未建成" for c in contracts if not c["pipeline_done"]} |
                                   {"安全验收未通过" for c in contracts if not c["safety_passed"]}))
        return f"供气合同“{contracts[0]['name']}”{missing}，不得新增煤改气户{SECTION_GAS}"
    volume = sum(c["volume"] for c in usable)
    need = demand_covered_m3 + demand_this_m3
    if need > volume:
        return (f"供气合同气量{volume:,.0f} m³，已覆盖煤改气户需气{demand_covered_m3:,.0f} m³，"
                f"加上本户{demand_this_m3:,.0f} m³后缺口{need - volume:,.0f} m³{SECTION_GAS}")
    return None


def heat_source(source: dict | None, accepted_grades: set[str]) -> str | None:
    """集中供热/工业余热: a registered source; industrial waste heat only from grade B+ plants
    not on the exit list; biomass boilers with flue-gas cleaning."""
    if source is None:
        return f"集中供热户须接入已登记的热源{SECTION_HEAT}"
    if source["kind"] == "waste_heat":
        if source["grade"] not in accepted_grades:
            return (f"热源“{source['name']}”环保绩效等级为{source['grade']}，"
                    f"低于认可等级（{'、'.join(sorted(accepted_grades))}）{SECTION_HEAT}")
        if source["on_exit_list"]:
            return f"热源“{source['name']}”已列入淘汰关停或产能退出范围，不得作为热源{SECTION_HEAT}"
    if source["kind"] == "biomass_chp" and not source["flue_gas_cleaning"]:
        return f"热源“{source['name']}”未配备高效烟气净化设施{SECTION_BIOMASS}"
    return None


def retrofit_gain(retrofitted: bool, gain_pct: int | None, minimum: int) -> str | None:
    """Building envelope retrofit must raise efficiency by at least the minimum (30 %)."""
    if retrofitted and gain_pct is not None and gain_pct < minimum:
        return f"节能改造能效提升{gain_pct}%，低于要求的{minimum}%{SECTION_RETROFIT}"
    return None

"""The checks before money leaves (发放前核查), issue #16 parts 6 and 7, as pure functions of one
entitlement line's facts. Pure, no Django; subsidies.payment_checks gathers the facts.

Method: each rule compares what the ledger and the subsidy records say about the line's household
with the conditions of the programme, and names the reason in Chinese when the line must not be
paid. Sources: 《关于推进北方地区冬季清洁取暖的指导意见》§三(五) (subsidies to households that
converted and passed acceptance, not above what was paid; operating subsidies within the season's
cap), the programme's notice duty (公示, issue #16 part 7) and PIPL Art. 51 for what a notice shows.
"""
from dataclasses import dataclass, field
from datetime import date

from . import terms

ACCEPTED = terms.ACCEPTED
# reason codes (for the compliance view's grouping), with their short names
RULES = {"status": "未审核", "archived": "已归档", "backstep": "退回至已验收以下", "bank_card": "一卡多户",
         "id_counties": "身份证号跨县", "over_price": "补贴高于购置金额", "over_cap": "运行补贴超出采暖季上限",
         "no_notice": "未公示", "notice_running": "公示期未满", "objection": "公示异议"}


@dataclass
class LineFacts:
    status: str
    archived: bool
    state_index: int                   # the household's lifecycle step (terms' STEPS order)
    state_label: str
    kind: str
    bank_shared_with: list = field(default_factory=list)   # household numbers of other families, same card
    id_counties: list = field(default_factory=list)        # county names (or codes) of the same ID number
    equipment_fen: int = 0             # the household's equipment subsidy for the year
    purchase_fen: int | None = None    # what the declaration says was paid
    season_fen: int = 0                # the household's operating subsidy for the line's season
    season_cap_fen: int | None = None  # the cap (with tilts and extra) for that season
    season: int = 0
    notice_ends_on: date | None = None  # of the latest notice listing the line; None: not on one
    objections: list = field(default_factory=list)       # (outcome, raised_by) of the line's objections


def reasons(f: LineFacts, today: date) -> list[tuple[str, str]]:
    """(rule code, reason) for every rule the line breaks; empty: it may be paid."""
    out = []
    if f.status != "approved":
        out.append(("status", "补贴尚未审核通过"))
    if f.archived:
        out.append(("archived", "该户已归档"))
    elif f.state_index < ACCEPTED:
        out.append(("backstep", f"该户改造状态已退回至“{f.state_label}”，低于已验收"))
    if f.bank_shared_with:
        shown = "、".join(f.bank_shared_with[:3]) + ("等" if len(f.bank_shared_with) > 3 else "")
        out.append(("bank_card", f"补贴发放账号与其他家庭的户（{shown}）相同"))
    if len(f.id_counties) > 1:
        out.append(("id_counties", f"户主身份证号同时登记在{len(f.id_counties)}个县（{'、'.join(f.id_counties)}）"))
    if f.kind == "equipment" and f.purchase_fen is not None and f.equipment_fen > f.purchase_fen:
        out.append(("over_price", f"设备补贴{terms.yuan(f.equipment_fen)}元高于购置金额{terms.yuan(f.purchase_fen)}元"))
    if f.kind == "operating" and f.season_cap_fen is not None and f.season_fen > f.season_cap_fen:
        said = f"{terms.season_label(f.season)}运行补贴{terms.yuan(f.season_fen)}元高于该季上限{terms.yuan(f.season_cap_fen)}元"
        out.append(("over_cap", said))
    if f.notice_ends_on is None:
        out.append(("no_notice", "尚未在村（社区）公示"))
    elif today <= f.notice_ends_on:
        out.append(("notice_running", f"公示期至{f.notice_ends_on:%Y-%m-%d}结束，期满后方可发放"))
    for outcome, who in f.objections:
        if outcome == "open":
            out.append(("objection", f"公示异议（{who}）尚未核实处理"))
        elif outcome == "upheld":
            out.append(("objection", f"公示异议（{who}）成立，不予发放"))
    return out

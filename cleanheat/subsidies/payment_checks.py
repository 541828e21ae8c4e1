"""Checks before money leaves (发放前核查): the facts of entitlement lines gathered in a few grouped
queries per chunk, judged by payment_rules. Two doors:

- blocking(entitlement_ids): what a payment batch asks before it takes lines (the pay branch's
  batch creation calls exactly this);
- findings(prefix): every problem of the approved lines of an area, for the compliance view.
"""
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Sum
from django.utils import timezone

from cleanheat.audit.models import DuplicateAttempt
from cleanheat.ledger.choices import STATE_ORDER, LifecycleState
from cleanheat.ledger.models import Household
from cleanheat.regions import codes
from cleanheat.regions.models import Region
from cleanheat.regions.scope import code_q

from . import calc, facts, payment_rules, terms
from .models import (
    Declaration,
    Entitlement,
    Kind,
    NoticeLine,
    Objection,
    Status,
    SubsidyItem,
    SubsidyTilt,
)

STATE_LABELS = dict(LifecycleState.choices)
ENTITLEMENT_FIELDS = ("pk", "household_id", "year", "kind", "season", "status", "item_id", "policy_id", "village_code",
                      "amount_fen")
HOUSEHOLD_FIELDS = ("pk", "household_no", "archived", "state", "heating_path", "bank_account_hash", "id_number_hash",
                    "is_dibao", "is_tekun", "is_tuopin", "is_canji")


@dataclass
class Finding:
    """A problem of one line, as the compliance view lists it."""
    rule: str
    entitlement_id: int
    household_no: str
    village: str
    year: int
    kind: str
    amount_fen: int
    message: str

    @property
    def amount(self) -> str:
        return terms.yuan(self.amount_fen)


def blocking(entitlement_ids, today=None) -> dict[int, list[str]]:
    """{entitlement id: the Chinese reasons it must not be paid} for the lines that must not;
    lines that may be paid are absent. Unknown ids are named as such."""
    ids = sorted({int(i) for i in entitlement_ids})
    today = today or timezone.localdate()
    out: dict[int, list[str]] = {}
    seen = set()
    for start in range(0, len(ids), facts.IN_CHUNK):
        rows = list(Entitlement.objects.filter(pk__in=ids[start:start + facts.IN_CHUNK]).values(*ENTITLEMENT_FIELDS))
        seen.update(r["pk"] for r in rows)
        for row, found in _judged(rows, today):
            if found:
                out[row["pk"]] = [reason for _, reason in found]
    for missing in set(ids) - seen:
        out[missing] = ["未找到该补贴核算记录"]
    return out


def findings(prefix: str, today=None) -> list[Finding]:
    """Problems of every approved line of households under `prefix` (not yet paid ones are what
    matters; the payment records of the batches are the other part's)."""
    today = today or timezone.localdate()
    lines = Entitlement.objects.filter(code_q("village_code", prefix), status=Status.APPROVED).order_by("pk")
    ids = list(lines.values_list("pk", flat=True))
    out = []
    for start in range(0, len(ids), facts.IN_CHUNK):
        rows = list(Entitlement.objects.filter(pk__in=ids[start:start + facts.IN_CHUNK]).values(*ENTITLEMENT_FIELDS))
        for row, found in _judged(rows, today):
            out += [Finding(rule, row["pk"], row["household_no"], row["village_code"], row["year"], row["kind"],
                            row["amount_fen"], reason) for rule, reason in found]
    return out


def summary(found: list[Finding]) -> list[tuple[str, str, int]]:
    """(rule, its name, count) for each rule with problems, in the rules' order."""
    counts = defaultdict(int)
    for f in found:
        counts[f.rule] += 1
    return [(rule, name, counts[rule]) for rule, name in payment_rules.RULES.items() if counts[rule]]


def _judged(rows: list[dict], today):
    """(row, [(rule, reason)]) for each entitlement row (rows get the household number)."""
    if not rows:
        return []
    household_ids = sorted({r["household_id"] for r in rows})
    households = {h["pk"]: h for h in Household.objects.filter(pk__in=household_ids).values(*HOUSEHOLD_FIELDS)}
    shared = _shared_cards(households)
    counties = _id_counties(households)
    equipment = _sums(household_ids, Kind.EQUIPMENT, "year")
    operating = _sums(household_ids, Kind.OPERATING, "season")
    purchase = {(h, y): fen for h, y, fen in Declaration.objects.filter(household_id__in=household_ids)
                .values_list("household_id", "year", "purchase_fen")}
    caps = _caps(rows, households)
    notices, objections = _notices([r["pk"] for r in rows])
    out = []
    for row in rows:
        h = households[row["household_id"]]
        row["household_no"] = h["household_no"]
        f = payment_rules.LineFacts(
            status=row["status"], archived=h["archived"], state_index=STATE_ORDER.index(h["state"]),
            state_label=str(STATE_LABELS[h["state"]]), kind=row["kind"], bank_shared_with=shared.get(h["pk"], []),
            id_counties=counties.get(h["id_number_hash"], []),
            equipment_fen=equipment.get((h["pk"], row["year"]), 0), purchase_fen=purchase.get((h["pk"], row["year"])),
            season=row["season"], season_fen=operating.get((h["pk"], row["season"]), 0),
            season_cap_fen=caps.get(row["pk"]))
        line = notices.get(row["pk"])
        if line is not None:
            f.notice_ends_on = line[1]
            f.objections = objections.get(line[0], [])
        out.append((row, payment_rules.reasons(f, today)))
    return out


def _shared_cards(households: dict) -> dict[int, list[str]]:
    """{household id: numbers of households of other families (another householder ID) paid to the
    same bank card}; archived households count too (a card is a card)."""
    hashes = {h["bank_account_hash"] for h in households.values() if h["bank_account_hash"]}
    if not hashes:
        return {}
    holders = defaultdict(list)
    for no, card, person in Household.objects.filter(bank_account_hash__in=hashes) \
            .values_list("household_no", "bank_account_hash", "id_number_hash").order_by("household_no"):
        holders[card].append((no, person))
    out = {}
    for pk, h in households.items():
        others = [no for no, person in holders.get(h["bank_account_hash"], []) if person != h["id_number_hash"]]
        if others:
            out[pk] = others
    return out


def _id_counties(households: dict) -> dict[str, list[str]]:
    """{ID hash: names of the counties where that person heads a household, archived or not, or was
    refused as householder (跨地区重复登记)}, for IDs met in more than one county. The ledger keeps
    one active household per ID; an archived one elsewhere may still hold lines to be paid."""
    hashes = {h["id_number_hash"] for h in households.values() if h["id_number_hash"]}
    found = defaultdict(set)
    for person, village in Household.objects.filter(id_number_hash__in=hashes).values_list("id_number_hash",
                                                                                          "village_id"):
        found[person].add(village[:6])
    for person, village in DuplicateAttempt.objects.filter(id_number_hash__in=hashes).values_list("id_number_hash",
                                                                                                "region_code"):
        found[person].add(village[:6])
    several = {p: sorted(c) for p, c in found.items() if len(c) > 1}
    if not several:
        return {}
    names = dict(Region.objects.filter(code__in=[codes.full_code(c) for cs in several.values() for c in cs])
                 .values_list("code", "name"))
    return {p: [names.get(codes.full_code(c), c) for c in cs] for p, cs in several.items()}


def _sums(household_ids, kind, by) -> dict[tuple, int]:
    return {(h, k): n or 0 for h, k, n in Entitlement.objects.filter(household_id__in=household_ids, kind=kind)
            .values_list("household_id", by).annotate(n=Sum("amount_fen")).values_list("household_id", by, "n")
            .order_by()}


def _caps(rows, households) -> dict[int, int]:
    """{operating line id: the season cap its item and the household's tilts allow, plus the extra}."""
    operating = [r for r in rows if r["kind"] == Kind.OPERATING]
    if not operating:
        return {}
    items = {i.pk: i.as_calc() for i in SubsidyItem.objects.filter(pk__in={r["item_id"] for r in operating})}
    tilts = defaultdict(list)
    for t in SubsidyTilt.objects.filter(policy_id__in={r["policy_id"] for r in operating}):
        tilts[t.policy_id].append(t.as_calc())
    out = {}
    for r in operating:
        h = households[r["household_id"]]
        flags = {f for f in ("is_dibao", "is_tekun", "is_tuopin", "is_canji") if h[f]}
        e = calc.effects(items[r["item_id"]], tilts[r["policy_id"]], h["heating_path"], flags)
        if e.cap is not None:
            out[r["pk"]] = e.cap + e.extra
    return out


def _notices(entitlement_ids) -> tuple[dict, dict]:
    """({entitlement id: (line id, ends_on) of the latest notice listing it}, {line id: [(outcome,
    raised_by)]})."""
    through = NoticeLine.entitlements.through
    latest = {}
    for ent, line, notice, ends in through.objects.filter(entitlement_id__in=entitlement_ids).values_list(
            "entitlement_id", "noticeline_id", "noticeline__notice_id", "noticeline__notice__ends_on"):
        if ent not in latest or notice > latest[ent][2]:
            latest[ent] = (line, ends, notice)
    objections = defaultdict(list)
    for line, outcome, who in Objection.objects.filter(line_id__in={v[0] for v in latest.values()}) \
            .values_list("line_id", "outcome", "raised_by").order_by("pk"):
        objections[line].append((outcome, who))
    return {k: (v[0], v[1]) for k, v in latest.items()}, objections


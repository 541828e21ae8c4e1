"""Checks before money leaves (发放前核查): the facts of entitlement lines gathered in a few grouped
queries per chunk, judged by payment_rules. Two doors:

- blocking(entitlement_ids): what a payment batch asks before it takes lines (the pay branch's
  batch creation calls exactly this);
- findings(prefix): every problem of the approved lines of an area, for the compliance view.
"""
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, Q, Subquery, Sum
from django.db.models.functions import Substr
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
# Lines of one county from which its facts are read whole by code range (as the compliance view
# does) rather than by lists of ids: a 50,000-line batch takes seconds instead of a minute.
AREA_FROM = 2000
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
    by_county = defaultdict(list)
    for start in range(0, len(ids), facts.IN_CHUNK):
        for row in Entitlement.objects.filter(pk__in=ids[start:start + facts.IN_CHUNK]).values(*ENTITLEMENT_FIELDS):
            by_county[row["village_code"][:6]].append(row)
    out: dict[int, list[str]] = {}
    for county, rows in by_county.items():
        if len(rows) >= AREA_FROM:
            judged = _judged(rows, today, prefix=county)
        else:
            judged = [pair for start in range(0, len(rows), facts.IN_CHUNK)
                      for pair in _judged(rows[start:start + facts.IN_CHUNK], today)]
        out.update((row["pk"], [reason for _, reason in found]) for row, found in judged if found)
    seen = {row["pk"] for rows in by_county.values() for row in rows}
    for missing in set(ids) - seen:
        out[missing] = ["未找到该补贴核算记录"]
    return out


def findings(prefix: str, today=None) -> list[Finding]:
    """Problems of every approved line of households under `prefix` (not yet paid ones are what
    matters; the payment records of the batches are the other part's). One pass: every query is
    bounded by the area's code range, not by lists of ids."""
    today = today or timezone.localdate()
    rows = list(Entitlement.objects.filter(code_q("village_code", prefix), status=Status.APPROVED)
                .values(*ENTITLEMENT_FIELDS).order_by("pk"))
    return [Finding(rule, row["pk"], row["household_no"], row["village_code"], row["year"], row["kind"],
                    row["amount_fen"], reason)
            for row, found in _judged(rows, today, prefix=prefix) for rule, reason in found]


def summary(found: list[Finding]) -> list[tuple[str, str, int]]:
    """(rule, its name, count) for each rule with problems, in the rules' order."""
    counts = defaultdict(int)
    for f in found:
        counts[f.rule] += 1
    return [(rule, name, counts[rule]) for rule, name in payment_rules.RULES.items() if counts[rule]]


def _judged(rows: list[dict], today, prefix: str | None = None):
    """(row, [(rule, reason)]) for each entitlement row (rows get the household number). With a
    prefix, the rows are all of an area's and the facts are read by its code range."""
    if not rows:
        return []
    household_ids = sorted({r["household_id"] for r in rows})
    if prefix is None:
        mine, lines = Q(pk__in=household_ids), Q(household_id__in=household_ids)
    else:
        mine, lines = code_q("village_id", prefix), code_q("village_code", prefix)
    households = {h["pk"]: h for h in Household.objects.filter(mine).values(*HOUSEHOLD_FIELDS)}
    missing = [pk for pk in household_ids if pk not in households]   # lines kept under an older village code
    households.update({h["pk"]: h for h in Household.objects.filter(pk__in=missing).values(*HOUSEHOLD_FIELDS)})
    shared = _shared_cards(households, mine)
    counties = _id_counties(mine)
    equipment = _sums(lines, Kind.EQUIPMENT, "year")
    operating = _sums(lines, Kind.OPERATING, "season")
    purchase = {(h, y): fen for h, y, fen in Declaration.objects.filter(lines)
                .values_list("household_id", "year", "purchase_fen")}
    caps = _caps(rows, households)
    notices, objections = _notices([r["pk"] for r in rows] if prefix is None else None, prefix)
    labels = {code: str(label) for code, label in STATE_LABELS.items()}
    steps = {code: i for i, code in enumerate(STATE_ORDER)}
    out = []
    for row in rows:
        h = households[row["household_id"]]
        row["household_no"] = h["household_no"]
        f = payment_rules.LineFacts(
            status=row["status"], archived=h["archived"], state_index=steps[h["state"]],
            state_label=labels[h["state"]], kind=row["kind"], bank_shared_with=shared.get(h["bank_account_hash"], []),
            id_counties=counties.get(h["id_number_hash"], []),
            equipment_fen=equipment.get((h["pk"], row["year"]), 0), purchase_fen=purchase.get((h["pk"], row["year"])),
            season=row["season"], season_fen=operating.get((h["pk"], row["season"]), 0),
            season_cap_fen=caps.get(row["pk"]))
        if f.bank_shared_with:
            f.bank_shared_with = [no for no, person in f.bank_shared_with if person != h["id_number_hash"]]
        line = notices.get(row["pk"])
        if line is not None:
            f.notice_ends_on = line[1]
            f.objections = objections.get(line[0], [])
        out.append((row, payment_rules.reasons(f, today)))
    return out


def _shared_cards(households: dict, mine: Q) -> dict[str, list[tuple]]:
    """{bank card hash: [(household number, householder ID hash)]} for the cards of these households
    that households of more than one family (householder ID) are paid to; archived households
    count too (a card is a card)."""
    if not any(h["bank_account_hash"] for h in households.values()):
        return {}
    cards = Household.objects.filter(mine).exclude(bank_account_hash="").values("bank_account_hash")
    several = list(Household.objects.filter(bank_account_hash__in=Subquery(cards)).values("bank_account_hash")
                   .annotate(n=Count("id_number_hash", distinct=True)).filter(n__gt=1)
                   .values_list("bank_account_hash", flat=True).order_by())
    holders = defaultdict(list)
    for no, card, person in Household.objects.filter(bank_account_hash__in=several) \
            .values_list("household_no", "bank_account_hash", "id_number_hash").order_by("household_no"):
        holders[card].append((no, person))
    return holders


def _id_counties(mine: Q) -> dict[str, list[str]]:
    """{ID hash: names of the counties where that person heads a household, archived or not, or was
    refused as householder (跨地区重复登记)}, for IDs met in more than one county. The ledger keeps
    one active household per ID; an archived one elsewhere may still hold lines to be paid."""
    people = Household.objects.filter(mine).values("id_number_hash")
    suspects = set(Household.objects.filter(id_number_hash__in=Subquery(people)).values("id_number_hash")
                   .annotate(n=Count(Substr("village_id", 1, 6), distinct=True)).filter(n__gt=1)
                   .values_list("id_number_hash", flat=True).order_by())
    attempts = list(DuplicateAttempt.objects.filter(id_number_hash__in=Subquery(people))
                    .values_list("id_number_hash", "region_code"))
    suspects |= {person for person, _ in attempts}
    if not suspects:
        return {}
    found = defaultdict(set)
    for person, village in Household.objects.filter(id_number_hash__in=list(suspects)) \
            .values_list("id_number_hash", "village_id"):
        found[person].add(village[:6])
    for person, village in attempts:
        found[person].add(village[:6])
    several = {p: sorted(c) for p, c in found.items() if len(c) > 1}
    if not several:
        return {}
    names = dict(Region.objects.filter(code__in=[codes.full_code(c) for cs in several.values() for c in cs])
                 .values_list("code", "name"))
    return {p: [names.get(codes.full_code(c), c) for c in cs] for p, cs in several.items()}


def _sums(lines: Q, kind, by) -> dict[tuple, int]:
    return {(h, k): n or 0 for h, k, n in Entitlement.objects.filter(lines, kind=kind)
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


def _notices(entitlement_ids, prefix: str | None = None) -> tuple[dict, dict]:
    """({entitlement id: (line id, ends_on) of the latest notice listing it}, {line id: [(outcome,
    raised_by)]}), for these lines or (ids None) for every line of the area."""
    through = NoticeLine.entitlements.through
    listed = through.objects.filter(entitlement_id__in=entitlement_ids) if entitlement_ids is not None else \
        through.objects.filter(code_q("noticeline__notice__village_code", prefix))
    # two plain queries: joined in one, SQLite scans every notice first (50 s for 50,000 lines)
    pairs = list(listed.values_list("entitlement_id", "noticeline_id"))
    lines = {}
    line_ids = sorted({line for _, line in pairs})
    for start in range(0, len(line_ids), facts.IN_CHUNK):
        lines.update((pk, (notice, ends)) for pk, notice, ends in NoticeLine.objects.filter(
            pk__in=line_ids[start:start + facts.IN_CHUNK]).values_list("pk", "notice_id", "notice__ends_on"))
    latest = {}
    for ent, line in pairs:
        notice, ends = lines[line]
        if ent not in latest or notice > latest[ent][2]:
            latest[ent] = (line, ends, notice)
    raised = Objection.objects.filter(line_id__in={v[0] for v in latest.values()}) if entitlement_ids is not None \
        else Objection.objects.filter(code_q("line__notice__village_code", prefix))
    objections = defaultdict(list)
    for line, outcome, who in raised.values_list("line_id", "outcome", "raised_by").order_by("pk"):
        objections[line].append((outcome, who))
    return {k: (v[0], v[1]) for k, v in latest.items()}, objections

"""Every subsidies write: policies (web form, .xlsx import, demo data), energy readings (household
page, import), entitlements (compute, approve). Each write is atomic, checked by the pure rules
modules first, and leaves an audit record (readings also a line in the household's history).

Extension points for the later parts of the programme (declaration and review, funds, payment
batches): `approve_entitlements` is the one door that makes a line approved, and an approved line
is never recomputed; `entitlements_for` is the scoped read of stored lines.
"""
import hashlib
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, Sum
from django.http import Http404
from django.utils import timezone

from cleanheat import bulk, inputs
from cleanheat.access import has_perm, require_in_scope, require_perm, scope_filter
from cleanheat.accounts import roles
from cleanheat.audit.services import record
from cleanheat.ledger import history
from cleanheat.ledger.choices import Channel
from cleanheat.ledger.models import Household
from cleanheat.regions import codes
from cleanheat.regions.models import Region
from cleanheat.regions.scope import NOTHING, code_q, in_scope, user_prefix

from . import calc_batch, declaration_flow, facts, funds, policy_rules, policy_sheet, reading_rules, reading_sheet, terms
from .models import (
    Declaration,
    DeclarationAttachment,
    DeclarationStep,
    Entitlement,
    EnergyReading,
    Kind,
    Status,
    SubsidyItem,
    SubsidyPolicy,
    SubsidyTilt,
    calc_labels,
    choice_maps,
)

DEMO_POLICY = Path(__file__).resolve().parent / "data" / "xinzhou-2022-subsidy-policy.json"
HEADER_TEXTS = {"title": 120, "document_no": 80}
ENTITLEMENT_COLUMNS = ["household_id", "village_code", "year", "policy_id", "item_id", "kind", "season", "unit",
                       "amount_fen", "central_fen", "provincial_fen", "city_fen", "county_fen", "inputs", "arithmetic",
                       "status", "digest", "computed_at"]


class PolicyRefused(ValidationError):
    """A policy with problems: nothing was written. `problems`: policy_rules.Problem, each naming
    its section, row and field, for the door to place (form field, sheet cell)."""

    def __init__(self, problems):
        super().__init__([str(p) for p in problems])
        self.problems = list(problems)


# ---- reading, in scope

def visible_policies(user):
    """The policies that apply to the user's area (the city's and their county's) and those of the
    counties inside it."""
    prefix = user_prefix(user)
    if prefix == NOTHING:
        return SubsidyPolicy.objects.none()
    above = [codes.full_code(prefix[:n]) for n in (4, 6) if len(prefix) >= n]
    return SubsidyPolicy.objects.filter(Q(region_id__in=above) | code_q("region_id", prefix)).select_related("region")


def editable_policies(user):
    """Policies of regions inside the user's scope (city finance: the city's and every county's)."""
    return visible_policies(user).filter(code_q("region_id", user_prefix(user)))


def entitlements_for(user):
    return scope_filter(Entitlement.objects.all(), user, "village_code")


def versions_of(policy: SubsidyPolicy):
    return SubsidyPolicy.objects.filter(region_id=policy.region_id, year=policy.year).order_by("version")


def resolve_region(value: str, name: str = "") -> Region | None:
    """A city or county by its 12-digit code, its prefix (1409, 140902) or its name."""
    value = (value or "").strip()
    if value.isascii() and value.isdigit() and len(value) in (4, 6, 12):
        return Region.objects.filter(code=codes.full_code(value), level__in=(codes.CITY, codes.COUNTY)).first()
    named = value or (name or "").strip()
    found = list(Region.objects.filter(name=named, level__in=(codes.CITY, codes.COUNTY))[:2]) if named else []
    return found[0] if len(found) == 1 else None


# ---- policies

def _normal(value):
    return None if value in ("", None) else value


def _content(header: dict, items: list[dict], tilts: list[dict]) -> tuple:
    """What a version says, for 'did anything change' (70 and 70.00 are the same)."""
    head = tuple(_normal(header.get(f)) for f in ("title", "document_no", "effective_from", "effective_until", "note"))
    return (head, bool(header.get("illustrative")),
            tuple(tuple(_normal(i.get(f)) for f in policy_rules.ITEM_FIELDS) for i in items),
            tuple(tuple(_normal(t.get(f)) for f in policy_rules.TILT_FIELDS) for t in tilts))


def _stored_content(policy: SubsidyPolicy) -> tuple:
    header = {f: getattr(policy, f) for f in ("title", "document_no", "effective_from", "effective_until", "note",
                                              "illustrative")}
    return _content(header, [i.values() for i in policy.items.all()], [t.values() for t in policy.tilts.all()])


def _text_problems(header: dict, items: list[dict]) -> list:
    """Texts within their columns and without control characters (refused, never cut)."""
    problems = [policy_rules.Problem("policy", None, f, f"{policy_rules.POLICY_FIELDS[f]}过长（最多{n}个字）")
                for f, n in HEADER_TEXTS.items() if len(header.get(f) or "") > n]
    problems += [policy_rules.Problem("policy", None, f, f"{policy_rules.POLICY_FIELDS[f]}含有不可见的控制字符，请删除后重新填写")
                 for f in (*HEADER_TEXTS, "note") if inputs.unprintable(str(header.get(f) or ""))]
    limit = SubsidyItem._meta.get_field("label").max_length
    for i, item in enumerate(items):
        label = str(item.get("label") or "")
        if len(label) > limit or inputs.unprintable(label):
            problems.append(policy_rules.Problem("item", i, "label", f"名称过长（最多{limit}个字）" if len(label) > limit
                                                 else "名称含有不可见的控制字符，请删除后重新填写"))
    return problems


def _base_problems(base, region, header, user) -> list:
    problems = []
    if region is None:
        return [policy_rules.Problem("policy", None, "region", "区划应为市或县（市、区）的代码或名称")]
    if user is not None and not in_scope(user, region.code):
        return [policy_rules.Problem("policy", None, "region", "只能为本人管辖范围内的市或县制定补贴政策")]
    if base is None:
        existing = SubsidyPolicy.objects.filter(region=region, year=header.get("year")).order_by("-version").first()
        if existing is not None:
            problems.append(policy_rules.Problem("policy", None, "year", f"{region.name}{existing.year}年度已有补贴政策"
                                                 f"（第{existing.version}版），请在该政策上修改"))
        return problems
    if (base.region_id, base.year) != (region.code, header.get("year")):
        problems.append(policy_rules.Problem("policy", None, "region", "不能更改政策的区划和年度（请另建政策）"))
    latest = versions_of(base).last()
    if latest.pk != base.pk:
        problems.append(policy_rules.Problem("policy", None, None, f"只能在最新版本（第{latest.version}版）上修改"))
    return problems


def _header_fields(header: dict) -> dict:
    return {"title": (header.get("title") or "").strip(), "document_no": (header.get("document_no") or "").strip(),
            "effective_from": header.get("effective_from"), "effective_until": header.get("effective_until"),
            "illustrative": bool(header.get("illustrative")), "note": header.get("note") or ""}


@transaction.atomic
def save_policy(header: dict, items: list[dict], tilts: list[dict], *, user=None, base=None,
                channel=Channel.UI, source="") -> tuple[SubsidyPolicy, str]:
    """Store a policy: header {region, year, title, document_no, effective_from, effective_until,
    illustrative, note}, items and tilts as dicts of policy_rules' fields (numbers as Decimal).
    base: the version being changed (None: a new policy for a region and year that has none).

    An unused base is rewritten in place (its computed, unapproved entitlements are removed: they
    must be computed again); a base with approved entitlements is left as it is and the change is
    stored as the next version, which must start after it. Returns (version, outcome) with outcome
    created / updated / new_version / unchanged. Refused with PolicyRefused, nothing written."""
    region = resolve_region(header.get("region") or "", header.get("region_name") or "")
    if base is not None:
        base = SubsidyPolicy.objects.select_for_update().get(pk=base.pk)
    problems = _base_problems(base, region, header, user)
    problems += policy_rules.policy_problems(header, items, tilts, **choice_maps()) + _text_problems(header, items)
    if problems:
        raise PolicyRefused(problems)
    if base is not None and _stored_content(base) == _content(header, items, tilts):
        return base, "unchanged"
    used = base is not None and base.is_used
    fields = _header_fields(header)
    if used:
        policy = SubsidyPolicy(region=region, year=base.year, version=versions_of(base).last().version + 1,
                               replaces=base, created_by=user, **fields)
        if fields["effective_from"] <= base.effective_from:
            problems.append(policy_rules.Problem(
                "policy", None, "effective_from", f"第{base.version}版已有已审核的补贴，修改将保存为新版本；新版本的施行日期"
                f"应晚于第{base.version}版的施行日期{base.effective_from.isoformat()}"))
    elif base is not None:
        policy = base
        for name, value in fields.items():
            setattr(policy, name, value)
    else:
        policy = SubsidyPolicy(region=region, year=header["year"], version=1, created_by=user, **fields)
    problems += policy.header_problems()
    if problems:
        raise PolicyRefused(problems)
    removed = _clear_unused(policy) if policy.pk else 0
    policy.save()
    _write_items(policy, items, tilts)
    outcome = "new_version" if used else "updated" if base is not None else "created"
    detail = {"created": "新建", "updated": "修改", "new_version": f"第{base.version if base else 0}版已使用，另存为新版本"}
    record("subsidy_policy", user=user, region_code=region.code, target=str(policy)[:120],
           detail=f"{detail[outcome]}：{len(items)}个补贴项目、{len(tilts)}条倾斜规则"
                  + (f"；删除按旧内容核算的{removed}条待审核补贴，需重新核算" if removed else "")
                  + (f"（{source}）" if source else ""))
    return policy, outcome


def _clear_unused(policy: SubsidyPolicy) -> int:
    """Before an unused version is rewritten: its items go, and the computed lines that cite them."""
    removed, _ = Entitlement.objects.filter(policy=policy, status=Status.COMPUTED).delete()
    policy.items.all().delete()
    policy.tilts.all().delete()
    return removed


TEXT_FIELDS = {"kind", "label", "path", "device", "method", "unit", "flag"}


def _stored(values: dict, names) -> dict:
    return {f: (values.get(f) or "") if f in TEXT_FIELDS else _normal(values.get(f)) for f in names}


def _write_items(policy, items, tilts):
    SubsidyItem.objects.bulk_create([SubsidyItem(policy=policy, position=i, **_stored(item, policy_rules.ITEM_FIELDS))
                                     for i, item in enumerate(items, start=1)])
    SubsidyTilt.objects.bulk_create([SubsidyTilt(policy=policy, position=i, **_stored(t, policy_rules.TILT_FIELDS))
                                     for i, t in enumerate(tilts, start=1)])


def load_policy_spec(spec: dict, *, user=None) -> tuple[SubsidyPolicy, str]:
    """A policy from its JSON form (the demo's data file): numbers as strings, dates ISO."""
    header = {**spec["policy"], "effective_from": date.fromisoformat(spec["policy"]["effective_from"]),
              "effective_until": date.fromisoformat(spec["policy"]["effective_until"])
              if spec["policy"].get("effective_until") else None}

    def numbers(row):
        return {k: Decimal(str(v)) if k.endswith(("_pct", "_yuan")) and v is not None else v for k, v in row.items()}
    base = SubsidyPolicy.objects.filter(region_id=header["region"], year=header["year"]).order_by("-version").first()
    return save_policy(header, [numbers(i) for i in spec["items"]], [numbers(t) for t in spec.get("tilts", [])],
                       user=user, base=base, channel=Channel.SYSTEM, source="数据文件")


def read_policy_file(path: Path = DEMO_POLICY) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def import_policy(path, *, user=None, filename="") -> tuple[SubsidyPolicy, str]:
    """A policy workbook (policy_sheet): a new policy, or a change to the latest version of the
    region's policy for the year (stored as save_policy does). All or nothing: any problem raises
    ValidationError with every problem named by sheet, row and cell."""
    parsed = policy_sheet.read_policy(path)
    if parsed.problems:
        raise ValidationError(parsed.problems)
    region = resolve_region(parsed.header.get("region") or "", parsed.header.get("region_name") or "")
    base = None
    if region is not None and (user is None or in_scope(user, region.code)):
        base = SubsidyPolicy.objects.filter(region=region, year=parsed.header.get("year")).order_by("-version").first()
    try:
        return save_policy(parsed.header, parsed.items, parsed.tilts, user=user, base=base, channel=Channel.IMPORT,
                           source=filename)
    except PolicyRefused as refused:
        raise ValidationError([f"{parsed.where(p.section, p.index, p.field)}：{p.message}"
                               for p in refused.problems]) from None


# ---- energy readings

def _meter(household, unit, exclude_season=None) -> dict:
    rows = EnergyReading.objects.filter(household=household, unit=unit)
    if exclude_season is not None:
        rows = rows.exclude(season=exclude_season)
    return {r.season: (r.opening, r.closing) for r in rows}


def _approved_operating(household_ids) -> set[tuple[int, int]]:
    """(household, season) pairs whose operating subsidy is approved: their readings stay as they are."""
    rows = Entitlement.objects.filter(household_id__in=household_ids, kind=Kind.OPERATING, status=Status.APPROVED)
    return set(rows.values_list("household_id", "season"))


def reading_refusals(household, season, unit, opening, closing, others: dict, current, locked: set) -> tuple:
    """(opening to store, [(field, message)]) for one reading. others: {season: (opening, closing)}
    of the meter's other seasons; current: this season's stored (opening, closing) or None; locked:
    approved (household, season) pairs. A blank opening keeps the stored one, else continues the
    season before."""
    if household.archived:
        return opening, [("household_no", "该户已归档，不能录入读数")]
    if opening is None and current is not None:
        opening = current[0]
    previous, following = reading_rules.neighbours(season, others) if season is not None else (None, None)
    opening, problems = reading_rules.reading_problems(season, unit, opening, closing, previous, following)
    if not problems and (household.pk, season) in locked and current not in (None, (opening, closing)):
        problems.append(("closing", f"{terms.season_label(season)}的运行补贴已审核，读数不能再修改"))
    return opening, problems


def _history_text(reading) -> str:
    return (f"{reading.season_label} {reading.get_unit_display()}：季初 {reading.opening}，季末 {reading.closing}"
            + (f"（抄表 {reading.read_on.isoformat()}）" if reading.read_on else ""))


@transaction.atomic
def record_reading(household, data: dict, *, user=None, channel=Channel.UI, source="") -> tuple[EnergyReading, str]:
    """One season's reading of one meter: data {season, unit, opening (None: continue), closing,
    read_on}. Returns (reading, created / updated / unchanged); refused with ValidationError."""
    season, unit, closing = data.get("season"), data.get("unit"), data.get("closing")
    others = _meter(household, unit)
    current = others.pop(season, None)
    opening, problems = reading_refusals(household, season, unit, data.get("opening"), closing, others, current,
                                         _approved_operating([household.pk]))
    if problems:
        errors = {}
        for name, message in problems:
            errors.setdefault(name, []).append(message)
        raise ValidationError(errors)
    reading = EnergyReading.objects.filter(household=household, unit=unit, season=season).first()
    if reading is not None and (reading.opening, reading.closing, reading.read_on) == (opening, closing,
                                                                                         data.get("read_on")):
        return reading, "unchanged"
    old = _history_text(reading) if reading else ""
    outcome = "updated" if reading else "created"
    reading = reading or EnergyReading(household=household, unit=unit, season=season)
    reading.opening, reading.closing, reading.read_on = opening, closing, data.get("read_on")
    reading.recorded_by, reading.channel = user, channel
    reading.save()
    history.fields_changed(household=household, changes=[("energy_reading", old, _history_text(reading))],
                           user=user, channel=channel, source=source)
    return reading, outcome


def _meters(household_ids) -> dict:
    meters = {}
    for hid, unit, season, opening, closing in EnergyReading.objects.filter(household_id__in=household_ids) \
            .values_list("household_id", "unit", "season", "opening", "closing"):
        meters.setdefault((hid, unit), {})[season] = (opening, closing)
    return meters


def _sheet_households(rows, user, problems) -> dict:
    """The households the sheet names, in the uploader's scope; a number outside it reads as unknown."""
    numbers = {r.values.get("household_no") for r in rows if r.values.get("household_no")}
    found = {h.household_no: h for h in scope_filter(Household.objects.filter(household_no__in=numbers), user,
                                                     "village_id")} if user is not None else \
        {h.household_no: h for h in Household.objects.filter(household_no__in=numbers)}
    for r in rows:
        number = r.values.get("household_no")
        if number and number not in found:
            problems.append(f"{r.where('household_no')}：户编号“{inputs.shown(number)}”不存在或不在您的管辖范围内")
    return found


def _checked_rows(rows, households, problems) -> list[tuple]:
    """(row, household, season, unit, opening, closing, read_on, current) of every row that passes,
    checked meter by meter in season order against the stored seasons and the sheet's own."""
    keyed, seen = {}, {}
    for r in rows:
        v = r.values
        household = households.get(v.get("household_no"))
        if household is None or None in (v.get("season"), v.get("closing")):
            continue
        unit = v.get("unit") or reading_sheet.PATH_UNITS.get(household.heating_path)
        if unit is None:
            problems.append(f"{r.where('unit')}：该户取暖路径没有对应的计量单位，请填写")
            continue
        key = (household.pk, unit, v["season"])
        if key in seen:
            problems.append(f"{r.where('season')}：与第{seen[key]}行重复（同一户、同一采暖季、同一计量单位）")
            continue
        seen[key] = r.number
        keyed.setdefault((household.pk, unit), []).append((v["season"], r, household))
    stored = _meters([hid for hid, _ in keyed])
    locked = _approved_operating([hid for hid, _ in keyed])
    out = []
    for meter, entries in keyed.items():
        combined = dict(stored.get(meter, {}))
        entries.sort(key=lambda e: e[0])
        for season, r, _ in entries:   # the sheet's seasons replace the stored ones, openings continued
            combined[season] = (r.values.get("opening"), r.values["closing"])
        for season, r, household in entries:
            current = stored.get(meter, {}).get(season)
            others = {s: v for s, v in combined.items() if s != season and None not in v}
            opening, found = reading_refusals(household, season, meter[1], r.values.get("opening"),
                                              r.values["closing"], others, current, locked)
            combined[season] = (opening, r.values["closing"])
            problems += [f"{r.where(name)}：{message}" for name, message in found]
            if not found:
                out.append((r, household, season, meter[1], opening, r.values["closing"], r.values.get("read_on"),
                            current))
    return out


@transaction.atomic
def import_readings(path, *, user=None, filename="", channel=Channel.IMPORT) -> dict:
    """All or nothing: a sheet with any problem writes nothing and raises ValidationError listing
    every problem by row and cell. Returns {created, updated, unchanged}."""
    rows, problems = reading_sheet.read_readings(path)
    households = _sheet_households(rows, user, problems)
    checked = _checked_rows(rows, households, problems)
    if problems or not rows:
        raise ValidationError(problems or ["文件中没有读数"])
    existing = {(x.household_id, x.unit, x.season): x for x in EnergyReading.objects.filter(
        household_id__in={h.pk for h in households.values()})}
    new, changed, entries = [], [], []
    for r, household, season, unit, opening, closing, read_on, current in checked:
        reading = existing.get((household.pk, unit, season))
        if reading is not None and (reading.opening, reading.closing, reading.read_on) == (opening, closing, read_on):
            continue
        old = _history_text(reading) if reading else ""
        reading = reading or EnergyReading(household=household, unit=unit, season=season)
        reading.opening, reading.closing, reading.read_on = opening, closing, read_on
        reading.recorded_by, reading.channel, reading.recorded_at = user, channel, timezone.now()
        (changed if reading.pk else new).append(reading)
        entries += history.change_entries(household=household, changes=[("energy_reading", old, _history_text(reading))],
                                          user=user, channel=channel, source=filename[:200])
    EnergyReading.objects.bulk_create(new)
    EnergyReading.objects.bulk_update(changed, ["opening", "closing", "read_on", "recorded_by", "channel", "recorded_at"])
    history.entries_written(entries)
    counts = {"created": len(new), "updated": len(changed), "unchanged": len(checked) - len(new) - len(changed)}
    record("energy_readings", user=user, region_code=user_prefix(user) if user else "", target=filename[:120],
           detail=f"新增{counts['created']}条，更新{counts['updated']}条，未变{counts['unchanged']}条")
    return counts


# ---- entitlements

def compute_entitlements(year: int, prefix: str = "", *, progress=None) -> dict:
    """Compute every entitlement of `year`'s policies for the active households under `prefix`
    and store them (approved lines stay as they are). Returns counts and totals."""
    started = timezone.now()
    versions = facts.policies_for_year(year)
    if not versions:
        raise ValidationError({"year": [f"{year}年度还没有补贴政策，请先录入或导入政策"]})
    households, readings = facts.load(prefix)
    n = len(households)
    if progress:
        progress("read", n, n)
    lines, stats = calc_batch.batch_lines(households, readings, versions, calc_labels())
    if progress:
        progress("计算", n, n)
    stats.update(store_entitlements(year, prefix, households, lines, progress=progress))
    stats["year"], stats["seconds"] = year, round((timezone.now() - started).total_seconds(), 2)
    return stats


def _digests(lines: calc_batch.Lines) -> list[str]:
    central, provincial, city, county = lines.shares.T.tolist() if len(lines) else ([], [], [], [])
    return [hashlib.blake2b(f"{p}|{i}|{a}|{c1}|{c2}|{c3}|{c4}|{ar}|{inp}".encode(), digest_size=8).hexdigest()
            for p, i, a, c1, c2, c3, c4, ar, inp in zip(lines.policy.tolist(), lines.item.tolist(),
                                                         lines.amount.tolist(), central, provincial, city, county,
                                                         lines.arithmetic, lines.inputs)]


def _stored_lines(prefix: str, year: int) -> dict:
    """(household, kind, season, unit) → (pk, status, digest, amount) of the stored lines of the year."""
    rows = facts.fetch(Entitlement.objects.filter(code_q("village_code", prefix), year=year).values_list(
        "household_id", "kind", "season", "unit", "pk", "status", "digest", "amount_fen"))
    return {r[:4]: r[4:] for r in rows}


@transaction.atomic
def store_entitlements(year: int, prefix: str, households: calc_batch.Households, lines: calc_batch.Lines, *,
                       progress=None) -> dict:
    """Make the computed (unapproved) lines of `year` under `prefix` those of `lines`, writing only
    what changed: a line the same as stored stays (with its computed_at), a changed one is written
    anew, a stored one no longer computed goes. A line whose household, kind, season and unit has
    an approved line is not stored (counted, and counted again if its amount now differs)."""
    stored = _stored_lines(prefix, year)
    household_ids = households.ids[lines.row].tolist()
    digests = _digests(lines)
    write, drop, approved, differs, unchanged = [], [], [], 0, 0
    for i, key in enumerate(zip(household_ids, lines.kind, lines.season.tolist(), lines.unit)):
        old = stored.pop(key, None)
        if old is None:
            write.append(i)
        elif old[1] == Status.APPROVED:
            approved.append(i)
            differs += old[3] != int(lines.amount[i])
        elif old[2] == digests[i]:
            unchanged += 1
        else:
            write.append(i)
            drop.append(old[0])
    drop += [old[0] for old in stored.values() if old[1] == Status.COMPUTED]
    if progress:
        progress("write", 0, len(write))
    with bulk.large_write():
        for start in range(0, len(drop), facts.IN_CHUNK):
            Entitlement.objects.filter(pk__in=drop[start:start + facts.IN_CHUNK]).delete()
        bulk.insert_rows(Entitlement, ENTITLEMENT_COLUMNS, _rows(year, households, lines, write, digests))
    if progress:
        progress("write", len(write), len(write))
    keep = np.ones(len(lines), dtype=bool)
    keep[approved] = False
    shares = lines.shares[keep].sum(axis=0).tolist() if keep.any() else [0] * len(terms.LEVELS)
    kinds = np.array(lines.kind, dtype=str)[keep] if keep.any() else np.array([], dtype=str)
    return {"lines": int(keep.sum()), "written": len(write), "unchanged": unchanged, "removed": len(drop),
            "by_kind": {k: int((kinds == k).sum()) for k in terms.KINDS},
            "totals_fen": {"amount": int(lines.amount[keep].sum()), **dict(zip(terms.LEVELS, map(int, shares)))},
            "approved_kept": len(approved), "approved_differs": differs}


def _rows(year, households, lines, chosen: list[int], digests):
    """The rows to insert, in household order (the indexes lead with the household or its village)."""
    now = Entitlement._meta.get_field("computed_at").get_db_prep_save(timezone.now(), connection)
    ids, villages = households.ids, households.villages
    chosen = sorted(chosen, key=lambda i: (int(ids[lines.row[i]]), lines.kind[i], int(lines.season[i])))
    for i in chosen:
        row = int(lines.row[i])
        yield (int(ids[row]), villages[row], year, int(lines.policy[i]), int(lines.item[i]), lines.kind[i],
               int(lines.season[i]), lines.unit[i], int(lines.amount[i]), *lines.shares[i].tolist(), lines.inputs[i],
               lines.arithmetic[i], Status.COMPUTED.value, digests[i], now)


def summary(stats: dict) -> str:
    kinds = "，".join(f"{terms.KIND_LABELS[k]}{n}条" for k, n in stats["by_kind"].items())
    totals = stats["totals_fen"]
    levels = "、".join(f"{terms.LEVEL_LABELS[lv]}{terms.yuan(totals[lv])}" for lv in terms.LEVELS)
    text = (f"{stats['year']}年度补贴核算：{stats['households']}户，{stats['lines']}条待审核补贴（{kinds}），"
            f"合计{terms.yuan(totals['amount'])}元（{levels}元）")
    if "written" in stats:
        text += f"（写入{stats['written']}条，未变{stats['unchanged']}条，删除{stats['removed']}条）"
    if stats.get("approved_kept"):
        text += f"；已审核的{stats['approved_kept']}条保持不变"
        if stats.get("approved_differs"):
            text += f"，其中{stats['approved_differs']}条按现行数据重算金额不同，请核实"
    if stats.get("awaiting_price"):
        text += f"；{stats['awaiting_price']}户已验收但尚未分配合同设备，设备补贴暂不能核算"
    if stats.get("no_policy"):
        text += f"；{stats['no_policy']}户的政策适用日期不在任何政策版本的施行期内"
    return text + f"；用时{stats.get('seconds', 0)}秒"


@transaction.atomic
def approve_entitlements(entitlements, *, user=None) -> int:
    """Approve computed lines (the declaration and review of a later part calls this once county
    finance has approved). Approved lines are never recomputed, and the policy versions they cite
    are never rewritten. Within the county's funds for the year (funds.check_room), else refused."""
    if user is not None:
        require_perm(user, roles.APPROVE)
        entitlements = scope_filter(entitlements, user, "village_code")
    ids = list(entitlements.filter(status=Status.COMPUTED).values_list("pk", flat=True))
    funds.check_room(ids)
    now = timezone.now()
    for start in range(0, len(ids), facts.IN_CHUNK):
        Entitlement.objects.filter(pk__in=ids[start:start + facts.IN_CHUNK]).update(
            status=Status.APPROVED, approved_at=now, approved_by=user)
    if ids:
        record("entitlements", user=user, region_code=user_prefix(user) if user else "",
               target=f"审核补贴{len(ids)}条", detail=f"审核通过{len(ids)}条补贴")
    return len(ids)


# ---- declaration and review (申报审核); the moves are declaration_flow's

flow = declaration_flow
LEVEL_PERMISSIONS = {flow.VILLAGE: roles.DECLARE, flow.TOWNSHIP_LEVEL: roles.REVIEW_TOWNSHIP,
                     flow.COUNTY_LEVEL: roles.REVIEW_COUNTY, flow.FINANCE: roles.APPROVE}
DECLARED_FIELDS = ("invoice_no", "purchase_fen", "installer", "installed_on")
TEXT_LIMITS = {"invoice_no": 40, "installer": 80}
ATTACHMENT_DIR = "declarations"


def declarations_for(user):
    """The declarations of households in the user's scope."""
    return scope_filter(Declaration.objects.select_related("household", "household__village"), user, "village_code")


def held_permissions(user) -> set:
    """The declaration permissions the user holds (what declaration_flow.check_move is given)."""
    return {perm for perm in LEVEL_PERMISSIONS.values() if has_perm(user, perm)}


def actions_for(user, declaration) -> list[str]:
    """The moves the user may make on the declaration now (the buttons a page shows)."""
    held = held_permissions(user)
    return [a for a in flow.actions_from(declaration.status)
            if flow.check_move(declaration.status, a, held, LEVEL_PERMISSIONS) is None]


def attachment_storage() -> FileSystemStorage:
    """Where photos are kept (under DATA_DIR, never under a public URL)."""
    return FileSystemStorage(location=Path(settings.DATA_DIR) / ATTACHMENT_DIR)


def _refuse(refusals) -> None:
    if refusals:
        errors = {}
        for r in refusals:
            errors.setdefault(r.field, []).append(r.message)
        raise ValidationError(errors)


def _text_refusals(data: dict) -> list:
    found = [flow.Refusal(f, f"{'发票号码' if f == 'invoice_no' else '安装单位'}过长（最多{n}个字）")
             for f, n in TEXT_LIMITS.items() if len(data.get(f) or "") > n]
    return found + [flow.Refusal(f, "含有不可见的控制字符，请删除后重新填写")
                    for f in TEXT_LIMITS if inputs.unprintable(str(data.get(f) or ""))]


def _file_refusals(files) -> list:
    """files: (kind, uploaded file) pairs; each an image of the allowed types within the size limit."""
    found = []
    for kind, uploaded in files:
        head = uploaded.read(16)
        uploaded.seek(0)
        refusal = flow.attachment_refusal(kind, head, uploaded.size, settings.CLEANHEAT_MAX_ATTACHMENT_BYTES)
        if refusal:
            found.append(refusal)
    return found


def _store_files(declaration, files, user) -> list[str]:
    storage = attachment_storage()
    names = []
    for kind, uploaded in files:
        content_type, suffix = flow.image_type(uploaded.read(16))
        uploaded.seek(0)
        stored = storage.save(f"{declaration.village_code}/{declaration.pk}-{kind}{suffix}", uploaded)
        original = Path(uploaded.name or kind).name[:120]
        DeclarationAttachment.objects.create(declaration=declaration, kind=kind, stored_name=stored,
                                             original_name=original, content_type=content_type,
                                             size=uploaded.size, uploaded_by=user)
        names.append(f"{flow.ATTACHMENT_KINDS[kind]}“{original}”")
    return names


def _missing_photos(declaration) -> list:
    have = set(declaration.attachments.values_list("kind", flat=True))
    return [flow.Refusal(kind, f"提交前请上传{label}") for kind, label in flow.ATTACHMENT_KINDS.items()
            if kind not in have]


def _stale(declaration, version) -> None:
    if version is not None and str(version) != str(declaration.version):
        raise ValidationError({"version": [f"此申报已被他人处理或修改（现为“{flow.STATE_LABELS[declaration.status]}”），"
                                           "本次操作未执行，请刷新后重试"]})


def _described(data: dict) -> str:
    return (f"发票号码 {data['invoice_no']}，购置金额 {terms.yuan(data['purchase_fen'])} 元，"
            f"安装单位 {data['installer']}，安装日期 {data['installed_on'].isoformat()}")


@transaction.atomic
def save_declaration(household, data: dict, files=(), *, user, declaration=None, version=None, submit=False,
                     channel=Channel.UI) -> Declaration:
    """Declare a household's subsidy for data["year"] (a new declaration), or correct one in draft
    or returned (`declaration`, at the `version` its user saw): data {year, invoice_no,
    purchase_fen, installer, installed_on}; files: (kind, uploaded image) pairs. submit: submit (or
    resubmit) it in the same step. Refused with ValidationError naming the field; nothing written."""
    require_perm(user, roles.DECLARE)
    require_in_scope(user, household.village_id)
    data = {**data, **{f: (data.get(f) or "").strip() for f in TEXT_LIMITS}}
    if declaration is not None:
        declaration = Declaration.objects.select_for_update().get(pk=declaration.pk)
        _stale(declaration, version)
        if declaration.status not in flow.EDITABLE:
            _refuse([flow.Refusal("status", f"申报为“{flow.STATE_LABELS[declaration.status]}”，不能修改")])
    refusals = []
    if household.archived:
        refusals.append(flow.Refusal("household", "该户已归档，不能申报补贴"))
    year = data.get("year") if declaration is None else declaration.year
    if declaration is None and (not isinstance(year, int) or not 2000 <= year <= timezone.localdate().year + 1):
        refusals.append(flow.Refusal("year", "年度应为2000年至明年之间的四位数字"))
    elif declaration is None and Declaration.objects.filter(household=household, year=year).exists():
        refusals.append(flow.Refusal("year", f"该户{year}年度已有补贴申报，请在原申报上修改"))
    refusals += flow.data_refusals(data, today=timezone.localdate()) + _text_refusals(data) + _file_refusals(files)
    if submit and not refusals:   # refused before any photo is stored (a rollback would leave the files)
        refusals += _submit_refusals(declaration, files, user)
    _refuse(refusals)
    before = None if declaration is None else {f: getattr(declaration, f) for f in DECLARED_FIELDS}
    declaration = declaration or Declaration(household=household, village_code=household.village_id, year=year,
                                             created_by=user)
    for f in DECLARED_FIELDS:
        setattr(declaration, f, data[f])
    if before is not None:
        declaration.version += 1
        declaration.save()
    else:
        try:
            with transaction.atomic():
                declaration.save()
        except IntegrityError:   # the same household and year declared a moment ago (a double submit)
            _refuse([flow.Refusal("year", f"该户{year}年度已有补贴申报，请在原申报上修改")])
    stored = _store_files(declaration, files, user)
    changed = before is None or before != {f: data[f] for f in DECLARED_FIELDS}
    if changed or stored:
        note = (_described(data) if changed else "") + ("；上传" + "、".join(stored) if stored else "")
        _step(declaration, flow.EDIT, declaration.status, declaration.status, user, note=note.lstrip("；"),
              channel=channel)
    if submit:
        action = flow.RESUBMIT if declaration.status == flow.RETURNED else flow.SUBMIT
        _apply(declaration, action, user=user, channel=channel)
    return declaration


def _submit_refusals(declaration, files, user) -> list:
    """Why a save with submit would be refused by the move itself (checked before anything is written)."""
    state = declaration.status if declaration is not None else flow.DRAFT
    action = flow.RESUBMIT if state == flow.RETURNED else flow.SUBMIT
    refusal = flow.check_move(state, action, held_permissions(user), LEVEL_PERMISSIONS)
    if refusal:
        return [refusal]
    have = {kind for kind, _ in files} | (set(declaration.attachments.values_list("kind", flat=True))
                                          if declaration is not None else set())
    return [flow.Refusal(kind, f"提交前请上传{label}") for kind, label in flow.ATTACHMENT_KINDS.items()
            if kind not in have]


def _step(declaration, action, from_status, to_status, user, *, opinions=None, note="", channel=Channel.UI):
    DeclarationStep.objects.create(declaration=declaration, action=action, from_status=from_status,
                                   to_status=to_status, level=flow.level_of(from_status) or flow.VILLAGE, user=user,
                                   role=getattr(user, "role", "") or "", opinions=opinions or {}, note=note)
    said = "；".join(f"{flow.SECTIONS[k]}：{v}" for k, v in (opinions or {}).items() if str(v).strip())
    history.fields_changed(household=declaration.household, changes=[(
        "subsidy_declaration", flow.STATE_LABELS[from_status] if from_status != to_status else "",
        f"{declaration.year}年度{flow.ACTION_LABELS[action]}（{flow.STATE_LABELS[to_status]}）")],
        user=user, channel=channel, source=(said or note)[:200])


def _over_purchase(declaration) -> str:
    """The warning when the household's equipment subsidy for the year is above the purchase amount."""
    total = Entitlement.objects.filter(household_id=declaration.household_id, year=declaration.year,
                                       kind=Kind.EQUIPMENT).aggregate(n=Sum("amount_fen"))["n"] or 0
    declaration.over_purchase = total > declaration.purchase_fen
    return (f"注意：设备补贴{terms.yuan(total)}元高于购置金额{declaration.purchase}元"
            if declaration.over_purchase else "")


def _apply(declaration, action, *, user, opinions=None, note="", channel=Channel.UI) -> None:
    """One move on a locked declaration, after the flow's rule and the move's own conditions."""
    opinions = {k: str(v).strip() for k, v in (opinions or {}).items() if str(v).strip()} \
        if action == flow.RETURN else {}
    _refuse([r for r in [flow.check_move(declaration.status, action, held_permissions(user), LEVEL_PERMISSIONS,
                                         opinions)] if r])
    if action in (flow.SUBMIT, flow.RESUBMIT):
        _refuse(_missing_photos(declaration))
    if action in (flow.REVIEW, flow.APPROVE):
        warning = _over_purchase(declaration)
        note = "；".join(x for x in (note, warning) if x)
    if action == flow.APPROVE:
        lines = Entitlement.objects.filter(household_id=declaration.household_id, year=declaration.year)
        if not lines.exists():
            _refuse([flow.Refusal("action", f"该户{declaration.year}年度还没有补贴核算结果，请先核算补贴")])
        approved = approve_entitlements(lines, user=user)
        note = "；".join(x for x in (note, f"审核通过补贴{approved}条") if x)
    from_status = declaration.status
    declaration.status = flow.target(from_status, action)
    declaration.version += 1
    declaration.save()
    _step(declaration, action, from_status, declaration.status, user, opinions=opinions, note=note[:500],
          channel=channel)


@transaction.atomic
def act_on_declaration(declaration_id, action: str, *, user, version=None, opinions=None, note="",
                       channel=Channel.UI) -> Declaration:
    """Submit, review, return (with opinions per section), resubmit or approve one declaration in
    the user's scope, at the `version` its user saw (another's action since then: refused)."""
    declaration = get_declaration(user, declaration_id, lock=True)
    _stale(declaration, version)
    note = (note or "").strip()
    if len(note) > 500 or inputs.unprintable(note):
        _refuse([flow.Refusal("note", "说明过长（最多500个字）" if len(note) > 500 else "说明含有不可见的控制字符")])
    if opinions and any(len(str(v)) > 500 for v in opinions.values()):
        _refuse([flow.Refusal("opinions", "每个部分的意见最多500个字")])
    _apply(declaration, action, user=user, opinions=opinions, note=note, channel=channel)
    return declaration


def get_declaration(user, declaration_id, *, lock=False) -> Declaration:
    """One declaration in the user's scope; outside it, or unknown, answers 404 alike."""
    rows = declarations_for(user)
    if lock:
        rows = rows.select_for_update(of=("self",))
    found = rows.filter(pk=declaration_id).first() if str(declaration_id).isdigit() else None
    if found is None:
        raise Http404("未找到该申报，或不在您的管辖范围内")
    return found


def act_on_village(user, village_code: str, year: int, action: str, versions: dict, *, note="",
                   channel=Channel.UI) -> list[dict]:
    """The same action on the declarations of one village the user has looked at (`versions`:
    {declaration id: version seen}), each through act_on_declaration in its own transaction.
    Returns one row per declaration: {declaration, household_no, done, reason}."""
    require_in_scope(user, village_code)
    rows = declarations_for(user).filter(village_code=village_code, year=year, pk__in=list(versions))
    results = []
    for declaration in rows.order_by("household__household_no"):
        try:
            done = act_on_declaration(declaration.pk, action, user=user, version=versions[declaration.pk],
                                      note=note, channel=channel)
            results.append({"declaration": done, "household_no": declaration.household.household_no,
                            "done": True, "reason": ""})
        except ValidationError as error:
            results.append({"declaration": declaration, "household_no": declaration.household.household_no,
                            "done": False, "reason": "；".join(error.messages)})
    if any(r["done"] for r in results):
        record("declarations", user=user, region_code=village_code, target=f"{year}年度批量{flow.ACTION_LABELS[action]}",
               detail=f"完成{sum(r['done'] for r in results)}件，未完成{sum(not r['done'] for r in results)}件")
    return results


def open_attachment(user, attachment_id):
    """(attachment, open file) of a photo of a declaration in the user's scope; else 404."""
    attachment = DeclarationAttachment.objects.filter(
        pk=attachment_id, declaration__in=declarations_for(user)).first() if str(attachment_id).isdigit() else None
    if attachment is None:
        raise Http404("未找到该附件，或不在您的管辖范围内")
    return attachment, attachment_storage().open(attachment.stored_name, "rb")


@transaction.atomic
def follow_village_codes(villages: dict) -> None:
    """Villages re-coded by a region change (old code → new): entitlements and declarations, scoped
    by their village code, move with their households."""
    for old, new in villages.items():
        Entitlement.objects.filter(village_code=old).update(village_code=new)
        Declaration.objects.filter(village_code=old).update(village_code=new)

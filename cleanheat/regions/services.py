"""Region changes (撤乡并镇, 村庄调整): recorded, previewed, applied — the regions' half.

A change is recorded (`record_change`, validated), previewed (`plan`: which regions are created,
renamed, retired, and which village code becomes which) and applied (`apply_regions`). The ledger
applies a change as a whole (`ledger.services.apply_region_change`): it calls `apply_regions` and
moves the households of each re-coded village in the same transaction, since regions import no
other app.

Method. The 12-digit code prefix is the hierarchy and every user's scope, so a village that comes
under another township gets a code under that township: its own last three digits when free there,
else the first free number of the same hundred (which keeps the national kind rule: 2xx/3xx 村,
0xx/1xx 社区). The old code stays as a retired region pointing at its successor and as an alias an
imported sheet's old code or old name is read through. A rename keeps the code.
"""
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from . import codes
from .models import LATITUDE_RANGE, LONGITUDE_RANGE, Region, RegionAlias, RegionChange
from .signals import region_change_applied
from .scope import in_scope

NAME_LENGTH = Region._meta.get_field("name").max_length
NOTE_LENGTH = RegionChange._meta.get_field("note").max_length


@dataclass
class Plan:
    """What applying a change does (nothing written)."""
    create: list = field(default_factory=list)     # (code, name, level, parent code)
    rename: list = field(default_factory=list)     # (code, old name, new name)
    villages: dict = field(default_factory=dict)   # old village code → new village code
    retire: list = field(default_factory=list)     # (code, successor code)
    names: dict = field(default_factory=dict)      # code → name, for the preview

    def describe(self) -> list[str]:
        """The preview as lines a person reads."""
        lines = [f"新设 {name}（{code}）" for code, name, level, _ in self.create if level != codes.VILLAGE]
        lines += [f"{old}（{code}）更名为 {new}" for code, old, new in self.rename]
        if self.villages:
            lines.append(f"{len(self.villages)}个村（社区）改用新代码：" + "、".join(
                f"{self.names.get(old, old)} {old}→{new}" for old, new in list(self.villages.items())[:20])
                + ("等" if len(self.villages) > 20 else ""))
        lines += [f"撤销 {self.names.get(code, code)}（{code}），并入 {self.names.get(to, to)}（{to}）"
                  for code, to in self.retire if codes.level_of(code) != codes.VILLAGE]
        return lines


def _region(code: str, level: int, what: str, *, current=True) -> Region:
    manager = Region.objects if current else Region.all_objects
    region = manager.filter(code=code, level=level).first() if len(code) == 12 and code.isdigit() else None
    if region is None:
        raise ValidationError({"from_codes": [f"“{code}”不是现行的{what}区划代码"]})
    return region


def _name(value, required: bool) -> str:
    name = " ".join(str(value or "").split())
    if required and not name:
        raise ValidationError({"to_name": ["请填写调整后名称"]})
    if len(name) > NAME_LENGTH:
        raise ValidationError({"to_name": [f"名称不能超过{NAME_LENGTH}个字"]})
    return name


def _codes(values) -> list[str]:
    if isinstance(values, str):
        values = values.replace("，", ",").replace("、", ",").split(",")
    return list(dict.fromkeys(v.strip() for v in values or [] if v and v.strip()))


@transaction.atomic
def record_change(*, kind, effective_on, from_codes, to_code="", to_name="", villages=(), note="",
                  user=None) -> RegionChange:
    """Record a change (not yet applied) after checking it can be applied; ValidationError in Chinese."""
    if kind not in dict(RegionChange.KIND_CHOICES):
        raise ValidationError({"kind": ["请选择调整类型"]})
    if effective_on is None:
        raise ValidationError({"effective_on": ["请填写生效日期"]})
    note = " ".join(str(note or "").split())
    if len(note) > NOTE_LENGTH:
        raise ValidationError({"note": [f"说明不能超过{NOTE_LENGTH}个字"]})
    change = RegionChange(kind=kind, effective_on=effective_on, from_codes=_codes(from_codes),
                          villages=_codes(villages), to_code=(to_code or "").strip(), to_name=to_name,
                          note=note, recorded_by=user)
    plan(change, user=user)  # raises if it cannot be applied
    change.to_name = _name(to_name, False)
    change.save()
    return change


def plan(change: RegionChange, *, user=None) -> Plan:
    """What applying `change` would do, or ValidationError naming what is wrong."""
    if change.applied_at:
        raise ValidationError({"__all__": ["该区划调整已实施"]})
    out = {RegionChange.RENAME: _plan_rename, RegionChange.MERGE: _plan_merge,
           RegionChange.MOVE: _plan_move, RegionChange.SPLIT: _plan_move}[change.kind](change)
    for code in [*change.from_codes, *change.villages, change.to_code]:
        if code and user is not None and not in_scope(user, code):
            raise ValidationError({"from_codes": [f"“{code}”不在您的管辖范围内"]})
    return out


def _plan_rename(change) -> Plan:
    if len(change.from_codes) != 1:
        raise ValidationError({"from_codes": ["更名须填写一个区划代码"]})
    code = change.from_codes[0]
    region = Region.objects.filter(code=code).first()
    if region is None or region.level <= codes.CITY:
        raise ValidationError({"from_codes": [f"“{code}”不是现行的县、乡或村区划代码"]})
    name = _name(change.to_name, True)
    if name == region.name:
        raise ValidationError({"to_name": ["新名称与原名称相同"]})
    return Plan(rename=[(code, region.name, name)], names={code: region.name})


def _target_township(change, county: str, *, must_be_new=False) -> tuple[Region | None, list]:
    """The township villages go to: an existing one, or a new one (its code and name given)."""
    code = change.to_code
    if not (len(code) == 12 and code.isdigit() and codes.level_of(code) == codes.TOWNSHIP):
        raise ValidationError({"to_code": [f"调整后乡镇代码“{code}”应为12位乡级区划代码（末3位为000）"]})
    if code[:6] != county:
        raise ValidationError({"to_code": ["调整后乡镇须与原乡镇在同一县（市、区）"]})
    existing = Region.all_objects.filter(code=code).first()
    if existing is not None and (existing.retired_on or must_be_new):
        raise ValidationError({"to_code": [f"代码“{code}”已被使用，请填写新乡镇的代码"]})
    if existing is not None:
        return existing, []
    return None, [(code, _name(change.to_name, True), codes.TOWNSHIP, codes.full_code(county))]


def _plan_merge(change) -> Plan:
    if len(change.from_codes) < 2:
        raise ValidationError({"from_codes": ["合并须填写至少两个乡镇的代码"]})
    sources = [_region(code, codes.TOWNSHIP, "乡级") for code in change.from_codes]
    counties = {s.code[:6] for s in sources}
    if len(counties) != 1:
        raise ValidationError({"from_codes": ["合并的乡镇须在同一县（市、区）"]})
    target, create = _target_township(change, counties.pop())
    result = Plan(create=create, names={s.code: s.name for s in sources})
    if target is not None and change.to_name and change.to_name != target.name:
        result.rename.append((target.code, target.name, _name(change.to_name, True)))
    moving = list(Region.objects.filter(parent__in=[s.code for s in sources if s.code != change.to_code],
                                        level=codes.VILLAGE))
    _recode(result, moving, change.to_code)
    result.retire += [(s.code, change.to_code) for s in sources if s.code != change.to_code]
    return result


def _plan_move(change) -> Plan:
    if not change.villages:
        raise ValidationError({"villages": ["请填写要调整的村（社区）代码"]})
    moving = [_region(code, codes.VILLAGE, "村级") for code in change.villages]
    counties = {v.code[:6] for v in moving}
    if len(counties) != 1:
        raise ValidationError({"villages": ["一次调整的村（社区）须在同一县（市、区）"]})
    target, create = _target_township(change, counties.pop(), must_be_new=change.kind == RegionChange.SPLIT)
    if any(v.parent_id == change.to_code for v in moving):
        raise ValidationError({"villages": ["所填村（社区）已属于调整后乡镇"]})
    change.from_codes = sorted({v.parent_id for v in moving})
    result = Plan(create=create, names={v.code: v.name for v in moving})
    _recode(result, moving, change.to_code)
    return result


def _recode(result: Plan, villages: list, township: str) -> None:
    """A code under `township` for each village (see the module's method), as retired → successor."""
    taken = set(Region.all_objects.filter(code__startswith=township[:9]).values_list("code", flat=True))
    for village in villages:
        code = _free_code(township, village.code, taken)
        taken.add(code)
        result.villages[village.code] = code
        result.names[village.code] = village.name
        result.create.append((code, village.name, codes.VILLAGE, township))
        result.retire.append((village.code, code))


def _free_code(township: str, old: str, taken: set) -> str:
    own = township[:9] + old[9:]
    if own not in taken:
        return own
    block = int(old[9]) * 100
    for number in range(max(block, 1), block + 100):
        code = f"{township[:9]}{number:03d}"
        if code not in taken:
            return code
    raise ValidationError({"villages": [f"乡镇 {township} 下已无可用的村级代码（{block:03d}–{block + 99:03d}）"]})


def apply_regions(change: RegionChange, *, user=None) -> Plan:
    """Write the regions' part of a change: new regions, names, aliases, retired regions (call it
    inside the ledger's transaction, which then moves the households of `Plan.villages`)."""
    change = RegionChange.objects.select_for_update().get(pk=change.pk)
    result = plan(change, user=user)
    for code, name, level, parent in result.create:
        source = Region.all_objects.filter(code__in=[c for c, new in result.villages.items() if new == code]).first()
        Region.objects.create(code=code, name=name, level=level, parent_id=parent,
                              short_name=source.short_name if source else "",
                              latitude=source.latitude if source else None,    # the village has not moved
                              longitude=source.longitude if source else None,
                              kind=codes.kind_of(code, name))
    for code, old, new in result.rename:
        Region.objects.filter(code=code).update(name=new)
        region = Region.objects.get(code=code)
        RegionAlias.objects.create(old_code=code, old_name=old, region=region, change=change,
                                   old_parent_name=region.parent.name if region.parent_id else "")
    retired = [code for code, _ in result.retire]
    names = dict(Region.all_objects.filter(code__in=retired + [codes.parent_of(c) for c in retired])
                 .values_list("code", "name"))
    RegionAlias.objects.bulk_create([
        RegionAlias(old_code=code, old_name=names[code], region_id=successor, change=change,
                    old_parent_name=names.get(codes.parent_of(code), "")) for code, successor in result.retire])
    _copy_coverage(result.villages)
    for code, successor in result.retire:  # kept, never deleted: history and old sheets name them
        Region.objects.filter(code=code).update(retired_on=change.effective_on, successor_id=successor)
    change.applied_at = timezone.now()
    change.save(update_fields=["applied_at", "from_codes"])
    region_change_applied.send(sender=RegionChange, change=change, result=result, user=user)
    return result


def _copy_coverage(villages: dict) -> None:
    """Whatever covers an old village (a gas contract's villages, a heat network's) covers its new
    code too: every many-to-many link to regions, found through the model's relations."""
    if not villages:
        return
    pks = dict(Region.all_objects.filter(code__in=[*villages, *villages.values()]).values_list("code", "pk"))
    new_pk = {pks[old]: pks[new] for old, new in villages.items()}
    for relation in Region._meta.related_objects:
        if not relation.many_to_many:
            continue
        through, m2m = relation.through, relation.field
        owner, region = m2m.m2m_field_name(), m2m.m2m_reverse_field_name()
        links = through.objects.filter(**{f"{region}__in": list(new_pk)}).values_list(f"{owner}_id", f"{region}_id")
        through.objects.bulk_create([through(**{f"{owner}_id": o, f"{region}_id": new_pk[r]}) for o, r in links],
                                    ignore_conflicts=True)


def moved_codes() -> dict:
    """Old code → (current code, note) for every retired or renamed region with an alias: what an
    imported sheet's old code is read as."""
    out = {}
    for alias in RegionAlias.objects.select_related("change", "region").order_by("change__effective_on", "id"):
        if alias.old_code != alias.region_id:
            out[alias.old_code] = (alias.region_id, note_of(alias))
    # a chain of changes (A → B, later B → C): follow it to the region in force
    for old, (new, note) in list(out.items()):
        seen = {old}
        while new in out and new not in seen:
            seen.add(new)
            new = out[new][0]
        out[old] = (new, note)
    return out


def old_names() -> list:
    """(old parent name, old name, current code, note) of every alias: sheets may still use the old names."""
    return [(a.old_parent_name, a.old_name, a.region_id, note_of(a))
            for a in RegionAlias.objects.select_related("change")]


def note_of(alias: RegionAlias) -> str:
    return (f"区划已调整（{alias.change.effective_on}起）：{alias.old_name}（{alias.old_code}）"
            f"现为 {alias.region_id}")


def changes_under(region: Region) -> list[RegionChange]:
    """Applied changes touching the region or anything below it, newest first (shown on its pages)."""
    prefix = region.prefix
    return [c for c in RegionChange.objects.filter(applied_at__isnull=False)
            if any(code.startswith(prefix) or prefix.startswith(codes.prefix_of(code))
                   for code in [*c.from_codes, c.to_code] if code)]


# -- Coordinates (村庄坐标表: 区划代码, 经度, 纬度) ----------------------------------------------------

COORDINATE_LEVELS = (codes.COUNTY, codes.TOWNSHIP, codes.VILLAGE)
COORDINATE_PLACES = Decimal("0.000001")


@dataclass(frozen=True)
class CoordinateRow:
    """One row of a coordinates sheet as read (text): its row number in the sheet, code, longitude, latitude."""
    number: int
    code: str
    longitude: str
    latitude: str


def _degrees(text: str, where: str, label: str, bounds: tuple) -> tuple[Decimal | None, str | None]:
    value = str(text or "").strip().replace("°", "")
    if not value:
        return None, f"{where}“{label}”为空"
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None, f"{where}“{label}”应为十进制度数（如 112.733），而不是“{value[:20]}”"
    if not number.is_finite() or not bounds[0] <= number <= bounds[1]:
        return None, f"{where}“{label}”{value[:20]} 超出范围（中国境内应在 {bounds[0]:g}–{bounds[1]:g} 之间，请检查经纬度是否填反）"
    return number.quantize(COORDINATE_PLACES), None


def check_coordinates(rows, *, user=None) -> dict:
    """Code → (latitude, longitude) for every row, or ValidationError listing every bad row (named by
    its row number and column): a code that is not a county, township or village in force, one outside
    the caller's scope, one given twice, a longitude or latitude that is not a number or lies outside China."""
    rows = list(rows)
    known = {r.code: r.level for r in Region.objects.filter(code__in={r.code.strip() for r in rows})}
    errors, out, first = [], {}, {}
    for row in rows:
        where, code = f"第{row.number}行", str(row.code or "").strip()
        if not (len(code) == 12 and code.isascii() and code.isdigit()):
            errors.append(f"{where}“区划代码”“{code[:20]}”应为12位数字")
            continue
        if known.get(code) not in COORDINATE_LEVELS:
            errors.append(f"{where}“区划代码”{code} 不是现行的县、乡镇或村（社区）区划代码")
            continue
        if user is not None and not in_scope(user, code):
            errors.append(f"{where}“区划代码”{code} 不在您的管辖范围内")
            continue
        if code in first:
            errors.append(f"{where}“区划代码”{code} 与第{first[code]}行重复")
            continue
        first[code] = row.number
        longitude, problem_lon = _degrees(row.longitude, where, "经度", LONGITUDE_RANGE)
        latitude, problem_lat = _degrees(row.latitude, where, "纬度", LATITUDE_RANGE)
        errors += [p for p in (problem_lon, problem_lat) if p]
        out[code] = (latitude, longitude)
    if not rows:
        errors.append("文件中没有坐标行（应有列：区划代码、经度、纬度）")
    if errors:
        raise ValidationError(errors)
    return out


@transaction.atomic
def import_coordinates(rows, *, user=None) -> int:
    """Write the coordinates of a sheet's rows (all or nothing: one bad row and none is saved);
    returns how many regions were updated."""
    points = check_coordinates(rows, user=user)
    regions = list(Region.objects.select_for_update().filter(code__in=list(points)))
    for region in regions:
        region.latitude, region.longitude = points[region.code]
    Region.objects.bulk_update(regions, ["latitude", "longitude"], batch_size=2000)
    return len(regions)

"""Report templates: .xlsx layouts whose cells hold {{…}} markers, filled from the ledger for any date
and the region asking.

Names a marker may use:
  region.name, region.code, on (the date counted), plan.year, plan.name, season (“2022–2023采暖季”)
  <scope>.name, <scope>.code
  <scope>.<path>.<measure>   path: all | electric | gas | central | biomass | … (HeatingPath values);
                             measure: target, expected, behind, rate (完工率 %), households (建档户数) and
                             the lifecycle steps reached (confirmed, selected, installing, installed,
                             accepted, proven, removed: households at that step or further on)
  <scope>.building.town_target_m2, <scope>.building.rural_target_m2   (the plan's m² targets)
  <scope>.building.town_done_m2, <scope>.building.rural_done_m2       (m² of the plan year's retrofit
                                                                      projects completed by the date)
  <scope>.emissions.<co2|so2|nox|pm25|pm10|coal_t>   (t avoided in the plan year's season, proven only)
  <scope>.emissions.proven, <scope>.emissions.unproven   (households)
where <scope> is `total` (the region asking) or `county` / `unit` (each unit one level below it). A row
holding a county./unit. marker is a row block: it is repeated once per unit, in code order, and the
rows below move down. A cell holding one marker and nothing else gets the number itself.
"""
import hashlib
import io
import re
from collections import defaultdict
from copy import copy

import openpyxl
from django.db.models import Sum
from django.db.models.functions import Substr

from cleanheat.ledger.choices import STATE_ORDER, HeatingPath
from cleanheat.plan import progress, targets
from cleanheat.plan.models import CountyPlan
from cleanheat.regions import codes
from cleanheat.regions.scope import code_q

from .emissions import POLLUTANTS
from .models import RetrofitProject

MARKER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
META = {"region.name", "region.code", "on", "plan.year", "plan.name", "season"}
UNIT_SCOPES = ("county", "unit")
SCOPES = ("total", *UNIT_SCOPES)
PATHS = ("all", *HeatingPath.values)
MEASURES = ("target", "expected", "behind", "rate", "households", *STATE_ORDER)
BUILDING = ("town_target_m2", "rural_target_m2", "town_done_m2", "rural_done_m2")
EMISSIONS = (*POLLUTANTS, "coal_t", "proven", "unproven")


def known(name: str) -> bool:
    if name in META:
        return True
    parts = name.split(".")
    if len(parts) < 2 or parts[0] not in SCOPES:
        return False
    rest = parts[1:]
    if rest in (["name"], ["code"]):
        return True
    if len(rest) == 2:
        group, item = rest
        if group in PATHS:
            return item in MEASURES
        if group == "building":
            return item in BUILDING
        if group == "emissions":
            return item in EMISSIONS
    return False


def markers(content: bytes):
    """(sheet, cell, name) of every marker in the workbook."""
    wb = openpyxl.load_workbook(io.BytesIO(content))
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    for m in MARKER.finditer(cell.value):
                        yield ws.title, cell.coordinate, m.group(1)


def check_template(content: bytes) -> list[str]:
    """The problems of a template, each naming its cell (empty: fine)."""
    try:
        found = list(markers(content))
    except Exception:  # noqa: BLE001 — openpyxl raises many kinds for a file that is not an .xlsx
        return ["文件不是有效的 .xlsx 工作簿"]
    problems = [f"单元格 {sheet}!{cell}：未知数据项“{name}”" for sheet, cell, name in found if not known(name)]
    if not found:
        problems.append("模板中没有任何 {{…}} 数据项")
    return problems


def uses_emissions(content: bytes) -> bool:
    return any(".emissions." in name for _sheet, _cell, name in markers(content))


class Source:
    """The figures of one region for one plan and date (see the module docstring for the names)."""

    def __init__(self, region, plan, on, emissions_totals=None):
        self.region, self.plan, self.on = region, plan, on
        self.units = list(region.children.all().order_by("code")) if region.level < codes.VILLAGE else []
        unit_length = codes.PREFIX_LENGTH[min(region.level + 1, codes.VILLAGE)]
        self.counts = progress.counts_on(region.prefix, unit_length, on, plan.year if plan else None)
        self.parts = targets.parts_below(plan, region, on) if plan and self.units else {}
        self.own_parts = targets.parts_of(plan, region, on) if plan else None
        self.buildings = self._buildings()
        self.emissions = emissions_totals

    def _buildings(self) -> dict:
        """{county: [town target, rural target, town done, rural done]} (m²)."""
        out = defaultdict(lambda: [0, 0, 0.0, 0.0])
        if self.plan:
            for cp in CountyPlan.objects.filter(plan=self.plan, county_code__startswith=self.region.prefix[:6]):
                out[cp.county_code][:2] = [cp.building_town_m2, cp.building_rural_m2]
            done = (RetrofitProject.objects.filter(code_q("region_code", self.region.prefix), plan_year=self.plan.year,
                                                   completed_on__lte=self.on)
                    .annotate(county=Substr("region_code", 1, 6)).values_list("county", "kind")
                    .annotate(m2=Sum("area_m2")).order_by())
            for county, kind, m2 in done:
                out[county][2 if kind == "town" else 3] = float(m2)
        return out

    def meta(self, name: str):
        if name == "region.name":
            return self.region.name
        if name == "region.code":
            return self.region.code
        if name == "on":
            return self.on.isoformat()
        if name == "plan.year":
            return self.plan.year if self.plan else ""
        if name == "plan.name":
            return self.plan.name if self.plan else ""
        return f"{self.plan.year}–{self.plan.year + 1}采暖季" if self.plan else ""

    def value(self, unit, name: str):
        """The figure `name` (without its scope) for `unit` (a Region) or the region itself (None)."""
        region = unit or self.region
        if name in ("name", "code"):
            return getattr(region, name)
        group, item = name.split(".")
        if group == "building":
            i = BUILDING.index(item)
            if unit is not None and unit.level > codes.COUNTY:
                return ""  # the plan's m² targets are per county
            return sum(v[i] for county, v in self.buildings.items() if _within(county, region.prefix))
        if group == "emissions":
            return self._emission(region, item)
        path = None if group == "all" else group
        counts = self._counts(unit)
        reached = progress.reached(counts, path)
        parts = self.parts.get(unit.code) if unit is not None else self.own_parts
        target = targets.total(parts, "targets", path) if parts else None
        expected = targets.total(parts, "expected", path) if parts else None
        installed = reached[STATE_ORDER.index("installed")]
        if item in STATE_ORDER:
            return reached[STATE_ORDER.index(item)]
        if item == "households":
            return reached[0]
        if item == "target":
            return target if target is not None else ""
        if item == "expected":
            return expected if expected is not None else ""
        if item == "behind":
            return max(0, expected - installed) if expected is not None else ""
        return round(100 * installed / target, 1) if target else ""  # rate

    def _counts(self, unit) -> dict:
        if unit is not None:
            return self.counts.get(unit.prefix, {})
        node = defaultdict(int)
        for per in self.counts.values():
            for key, n in per.items():
                node[key] += n
        return node

    def _emission(self, region, item: str):
        e = self.emissions or {"by_county": [], "rows": []}
        prefix = region.prefix
        if item in ("proven", "unproven"):
            return sum(r[f"{item}_households"] for r in e["rows"] if _within(r["county"], prefix))
        key = "coal_t" if item == "coal_t" else None
        total = 0.0
        for row in e["by_county"]:
            if _within(row["county"], prefix):
                total += row[key] if key else row["avoided"][item] / 1000.0  # kg → t
        return round(total, 2)


def _within(county: str, prefix: str) -> bool:
    return county.startswith(prefix[:6]) if len(prefix) >= 6 else county.startswith(prefix)


def fill(content: bytes, source: Source) -> bytes:
    """The template filled: row blocks repeated per unit, every marker replaced."""
    wb = openpyxl.load_workbook(io.BytesIO(content))
    for ws in wb.worksheets:
        blocks = [r for r in range(1, ws.max_row + 1) if _is_block(ws, r)]
        for r in reversed(blocks):
            _expand(ws, r, source)
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and "{{" in cell.value:
                    cell.value = _substitute(cell.value, source, None)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _is_block(ws, r: int) -> bool:
    return any(isinstance(c.value, str) and any(m.group(1).split(".")[0] in UNIT_SCOPES for m in MARKER.finditer(c.value))
               for c in ws[r])


def _expand(ws, r: int, source: Source):
    template = [(c.column, c.value, c._style) for c in ws[r]]
    height = ws.row_dimensions[r].height
    n = len(source.units)
    if n == 0:
        ws.delete_rows(r)
        return
    if n > 1:
        ws.insert_rows(r + 1, n - 1)
    for i, unit in enumerate(source.units):
        for col, value, style in template:
            cell = ws.cell(row=r + i, column=col)
            cell._style = copy(style)
            cell.value = _substitute(value, source, unit) if isinstance(value, str) else value
        if height:
            ws.row_dimensions[r + i].height = height


def _substitute(text: str, source: Source, unit):
    def one(name: str):
        if name in META:
            return source.meta(name)
        scope, rest = name.split(".", 1)
        return source.value(unit if scope in UNIT_SCOPES else None, rest)

    whole = MARKER.fullmatch(text.strip())
    if whole:
        return one(whole.group(1))
    return MARKER.sub(lambda m: str(one(m.group(1))), text)


def digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()

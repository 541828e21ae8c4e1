import tempfile

import xlsxwriter
from django.db.models import Count, Q, Sum
from django.http import FileResponse
from django.shortcuts import get_object_or_404, render

from cleanheat.access import requires, user_prefix
from cleanheat.accounts.roles import EXPORT, VIEW
from cleanheat.audit.services import record
from cleanheat.filenames import stamped
from cleanheat.ledger.choices import HeatingPath, LifecycleState
from cleanheat.ledger.models import Household
from cleanheat.ledger.rollup import slow_to_count
from cleanheat.procurement.services import catalog_warnings
from cleanheat.regions import codes
from cleanheat.regions.models import Region
from cleanheat.regions.scope import require_in_scope

from . import compliance
from .engine import config_for
from .models import GasContract, HeatSource


def _region(request, code):
    code = code or codes.full_code(user_prefix(request.user) or "1409")
    region = get_object_or_404(Region, code=code)
    require_in_scope(request.user, region.code)
    return region


@requires(VIEW)
def compliance_page(request, code=None):
    """Every current breach and warning by rule, counted per unit, with drill-down to households.
    Answers at once when the scan is cached or quick; otherwise the results follow by htmx."""
    region = _region(request, code)
    found = compliance.findings(region.prefix, only_if_cached=True)
    if found is None and not slow_to_count(region):
        found = compliance.findings(region.prefix)
    context = {"region": region, "rules": compliance.RULES, "deferred": found is None,
               "query": request.GET.urlencode(),
               "ancestors": [a for a in region.ancestors() if a.code.startswith(user_prefix(request.user))],
               "catalog_warnings": catalog_warnings(request.user)}
    if found is not None:
        context.update(_results(region, found, request.GET))
    return render(request, "rules/compliance.html", context)


@requires(VIEW)
def compliance_results(request, code):
    """The compliance page's tables on their own (htmx), for a page that answered before the scan."""
    region = _region(request, code)
    return render(request, "rules/compliance.html#results", {
        "region": region, "rules": compliance.RULES,
        **_results(region, compliance.findings(region.prefix), request.GET)})


def _results(region, findings, params) -> dict:
    unit_length = codes.PREFIX_LENGTH[min(region.level + 1, codes.VILLAGE)]
    counts = compliance.summary(findings, unit_length)
    keys = [(rule, sev) for rule in compliance.RULES for sev in ("breach", "warning")]
    rows = [{"region": child, "cells": [counts.get(child.prefix, {}).get(k, 0) for k in keys]}
            for child in region.children.order_by("code")] if region.level < codes.VILLAGE else []
    totals = [sum(r["cells"][i] for r in rows) for i in range(len(keys))] if rows else \
        [sum(1 for f in findings if (f.rule, f.severity) == k) for k in keys]
    rule, severity = params.get("rule", ""), params.get("severity", "")
    detail = [f for f in findings if (not rule or f.rule == rule) and (not severity or f.severity == severity)] \
        if rule else []
    return {"keys": keys, "rows": rows, "totals": totals, "detail": _with_places(detail[:500]),
            "detail_count": len(detail), "rule": rule, "severity": severity,
            "rule_name": compliance.RULES.get(rule, "")}


def _with_places(findings) -> list[tuple]:
    """(finding, "乡镇 村") for the findings shown: names beside the village codes."""
    villages = {f.village for f in findings}
    codes_wanted = villages | {codes.full_code(v[:9]) for v in villages}
    names = dict(Region.objects.filter(code__in=codes_wanted).values_list("code", "name"))
    return [(f, f"{names.get(codes.full_code(f.village[:9]), '')} {names.get(f.village, '')}".strip())
            for f in findings]


@requires(EXPORT)
def compliance_export(request, code):
    region = _region(request, code)
    findings = compliance.findings(region.prefix)
    names = dict(Region.objects.filter(code__startswith=region.prefix[:6]).values_list("code", "name"))
    tmp = tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False)
    tmp.close()
    wb = xlsxwriter.Workbook(tmp.name, {"constant_memory": True})
    ws = wb.add_worksheet("合规检查")
    ws.write_row(0, 0, ["规则", "级别", "户编号", "县（市、区）", "乡（镇）", "村（社区）", "说明"],
                 wb.add_format({"bold": True, "bg_color": "#DDE6F0"}))
    for i, f in enumerate(findings, start=1):
        ws.write_row(i, 0, [compliance.RULES[f.rule], "违规" if f.severity == "breach" else "预警", f.household_no,
                            names.get(codes.full_code(f.village[:6]), ""), names.get(codes.full_code(f.village[:9]), ""),
                            names.get(f.village, ""), f.message])
    ws.set_column(2, 2, 16, wb.add_format({"num_format": "@"}))  # 户编号 stays text
    ws.set_column(6, 6, 90)
    wb.close()
    record("export", request=request, region_code=region.code, target=f"合规检查：{region.name}",
           detail=f"{len(findings)}条")
    return FileResponse(open(tmp.name, "rb"), as_attachment=True, filename=stamped("合规检查", region.name))


@requires(VIEW)
def registers_page(request):
    """Heat sources and gas contracts with what depends on them (maintained in the system admin)."""
    prefix = user_prefix(request.user)
    config = config_for(codes.full_code(prefix[:4] or "1409"))
    grades = config.grades()
    sources = HeatSource.objects.filter(county_code__startswith=prefix[:6]).annotate(
        n=Count("households", filter=Q(households__archived=False))).order_by("county_code", "name")
    contracts = []
    for c in GasContract.objects.filter(county_code__startswith=prefix[:6]).prefetch_related("villages"):
        area = Household.objects.filter(village_id__in=[v.code for v in c.villages.all()], heating_path=HeatingPath.GAS,
                                        archived=False).exclude(state=LifecycleState.CONFIRMED) \
            .aggregate(a=Sum("heated_area"))["a"] or 0
        demand = float(area) * float(config.gas_index_m3_per_m2)
        contracts.append({"c": c, "villages": c.villages.count(), "demand": round(demand),
                          "use": round(100 * demand / c.season_volume_m3, 1) if c.season_volume_m3 else None})
    return render(request, "rules/registers.html", {"sources": sources, "contracts": contracts, "grades": grades,
                                                    "config": config})

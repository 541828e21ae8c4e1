"""The winter dashboard page, its .xlsx export and the map's figures (open "no heat" tickets by county)."""
import tempfile

import xlsxwriter
from django.http import FileResponse, JsonResponse
from django.shortcuts import render

from cleanheat.access import requires
from cleanheat.accounts import roles
from cleanheat.plan.models import Plan

from . import dashboard, queries


def _season(request) -> dashboard.Season:
    value = request.GET.get("season", "")
    if value.isascii() and value.isdigit() and 2000 <= int(value) <= 2100:
        return dashboard.Season(int(value))
    return dashboard.today_season()


@requires(roles.SERVICE_MANAGE)
def dashboard_page(request):
    season = _season(request)
    data = dashboard.cached_figures(request.user, queries.visible_tickets(request.user), season)
    plan = Plan.objects.order_by("-year").first()
    return render(request, "service/dashboard.html", {
        "d": data, "season": season, "seasons": range(dashboard.today_season().year, 2020, -1),
        "map_script": plan.map_script if plan and len(request.user.region_scope or "") <= 4 else "",
        "map_name": plan.map_name if plan else "",
        "chart": {"counties": [{"name": c["name"], "code": c["code"], "open_no_heat": c["open_no_heat"]}
                               for c in data["counties"]], "season": season.year}})



@requires(roles.SERVICE_MANAGE)
def map_data(request):
    season = _season(request)
    data = dashboard.cached_figures(request.user, queries.visible_tickets(request.user), season)
    return JsonResponse({"season": season.year, "counties": [{"name": c["name"], "code": c["code"],
                                                              "open_no_heat": c["open_no_heat"]}
                                                             for c in data["counties"]]})


@requires(roles.SERVICE_MANAGE)
def export(request):
    season = _season(request)
    d = dashboard.cached_figures(request.user, queries.visible_tickets(request.user), season)
    tmp = tempfile.NamedTemporaryFile(suffix=".xlsx")  # noqa: SIM115 (its file is handed to the response)
    wb = xlsxwriter.Workbook(tmp.name)
    head = wb.add_format({"bold": True, "bg_color": "#DDE6F0", "border": 1})
    sheets = [
        ("各县", ["县（市、区）", "工单数", "未修复", "未修复（不热/停暖）", "时限达标率%", "满意率%"],
         [[c["name"], c["total"], c["open"], c["open_no_heat"], c["sla_pct"], c["satisfaction_pct"]]
          for c in d["counties"]]),
        ("设备企业", ["企业", "工单数", "未修复", "超时", "超时率%", "满意率%"],
         [[v["name"], v["total"], v["open"], v["breached"], v["breach_pct"], v["satisfaction_pct"]]
          for v in d["vendors"]]),
        ("未修复按类别", ["类别", "未修复"], [[c["name"], c["open"]] for c in d["categories"]]),
        ("重复故障户", ["户编号", "户主", "县（市、区）", "故障次数"],
         [[r["household_no"], r["name"], r["county"], r["faults"]] for r in d["repeated"]]),
    ]
    for title, header, rows in sheets:
        ws = wb.add_worksheet(title)
        ws.write(0, 0, f"{d['season']} 热线工单（时限达标率 {d['sla_pct'] if d['sla_pct'] is not None else '—'}%，"
                       f"修复用时中位数 {d['median_repair_hours'] if d['median_repair_hours'] is not None else '—'} 小时）")
        ws.write_row(2, 0, header, head)
        for i, row in enumerate(rows, start=3):
            ws.write_row(i, 0, ["" if v is None else v for v in row])
        ws.set_column(0, 0, 28)
        ws.set_column(1, len(header), 12)
    wb.close()
    tmp.seek(0)
    return FileResponse(tmp, as_attachment=True, filename=f"热线工单看板-{season.year}.xlsx")

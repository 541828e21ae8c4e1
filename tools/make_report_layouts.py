"""Writes the built-in report layouts (cleanheat/reports/data/layouts/*.xlsx). Run once after editing;
the .xlsx files are the data, this script only documents how they were made.

    /work/main/.venv/bin/python tools/make_report_layouts.py
"""
import json
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

OUT = Path(__file__).resolve().parents[1] / "cleanheat" / "reports" / "data" / "layouts"
THIN = Side(style="thin")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEAD = PatternFill("solid", fgColor="DDE6F0")
PATHS = [("electric", "煤改电"), ("gas", "煤改气"), ("central", "集中供热"), ("biomass", "生物质")]


def sheet(title, heading, header, block, total, widths=None):
    wb = Workbook()
    ws = wb.active
    ws.title = title
    ws.append([heading])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(["计划年度：{{plan.year}}　统计日期：{{on}}　填报单位：{{region.name}}"])
    ws.append([])
    ws.append(header)
    ws.append(block)
    ws.append(total)
    for row in ws.iter_rows(min_row=4, max_row=6):
        for cell in row:
            cell.border = BOX
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for cell in ws[4]:
        cell.font, cell.fill = Font(bold=True), HEAD
    for cell in ws[6]:
        cell.font = Font(bold=True)
    ws.column_dimensions["A"].width = 18
    for i, w in enumerate(widths or [], start=2):
        ws.column_dimensions[ws.cell(row=4, column=i).column_letter].width = w
    return wb


def monthly_province():
    header = ["单位", "目标户数", "已完工", "完工率%", "已验收", "稳定运行"]
    block = ["{{county.name}}", "{{county.all.target}}", "{{county.all.installed}}", "{{county.all.rate}}",
             "{{county.all.accepted}}", "{{county.all.proven}}"]
    total = ["合计", "{{total.all.target}}", "{{total.all.installed}}", "{{total.all.rate}}",
             "{{total.all.accepted}}", "{{total.all.proven}}"]
    for path, label in PATHS:
        header += [f"{label}目标", f"{label}完工"]
        block += [f"{{{{county.{path}.target}}}}", f"{{{{county.{path}.installed}}}}"]
        total += [f"{{{{total.{path}.target}}}}", f"{{{{total.{path}.installed}}}}"]
    header += ["县城建筑节能改造目标（㎡）", "农村围护结构改造目标（㎡）"]
    block += ["{{county.building.town_target_m2}}", "{{county.building.rural_target_m2}}"]
    total += ["{{total.building.town_target_m2}}", "{{total.building.rural_target_m2}}"]
    return sheet("月报", "{{region.name}}冬季清洁取暖改造进度月报（报省）", header, block, total, [10] * 15)


def weekly_dispatch():
    header = ["单位", "目标户数", "计划应完工", "确村确户", "施工中+", "已完工", "完工率%", "落后户数"]
    keys = ["target", "expected", "confirmed", "installing", "installed", "rate", "behind"]
    block = ["{{county.name}}", *[f"{{{{county.all.{k}}}}}" for k in keys]]
    total = ["合计", *[f"{{{{total.all.{k}}}}}" for k in keys]]
    return sheet("调度周报", "{{region.name}}清洁取暖改造调度周报", header, block, total, [11] * 7)


def annual_summary():
    header = ["单位", "目标户数", "已完工", "已验收", "稳定运行户数", "已完工未满一季户数", "替代散煤（t）",
              "CO₂减排（t）", "SO₂减排（t）", "NOx减排（t）", "PM2.5减排（t）", "PM10减排（t）"]
    block = ["{{county.name}}", "{{county.all.target}}", "{{county.all.installed}}", "{{county.all.accepted}}",
             "{{county.emissions.proven}}", "{{county.emissions.unproven}}", "{{county.emissions.coal_t}}",
             "{{county.emissions.co2}}", "{{county.emissions.so2}}", "{{county.emissions.nox}}",
             "{{county.emissions.pm25}}", "{{county.emissions.pm10}}"]
    total = ["合计", *[c.replace("county.", "total.") for c in block[1:]]]
    wb = sheet("年度总结", "{{region.name}}{{season}}清洁取暖工作年度总结表", header, block, total, [11] * 11)
    wb.active.append([])
    wb.active.append(["说明：减排量只计稳定运行满一个采暖季的户；测算方法见《减排测算方法》（docs/emissions-method.md）。"])
    return wb


def building_retrofit():
    header = ["单位", "县城既有建筑节能改造目标（㎡）", "县城既有建筑已完工（㎡）", "农村围护结构改造目标（㎡）",
              "农村围护结构已完工（㎡）"]
    keys = ["town_target_m2", "town_done_m2", "rural_target_m2", "rural_done_m2"]
    block = ["{{county.name}}", *[f"{{{{county.building.{k}}}}}" for k in keys]]
    total = ["合计", *[f"{{{{total.building.{k}}}}}" for k in keys]]
    return sheet("建筑节能改造", "{{region.name}}建筑节能改造进度表", header, block, total, [16] * 4)


LAYOUTS = [
    {"code": "monthly-province", "file": "monthly-province.xlsx", "name": "月度进度表（报省）",
     "description": "各县（市、区）分路径目标与完工、验收、稳定运行户数，建筑节能改造目标", "make": monthly_province},
    {"code": "weekly-dispatch", "file": "weekly-dispatch.xlsx", "name": "调度周报",
     "description": "各单位目标、计划应完工、完工率与落后户数", "make": weekly_dispatch},
    {"code": "annual-summary", "file": "annual-summary.xlsx", "name": "年度总结表",
     "description": "各县完成情况与采暖季减排量（§七(一)）", "make": annual_summary},
    {"code": "building-retrofit", "file": "building-retrofit.xlsx", "name": "建筑节能改造进度表",
     "description": "各县县城既有建筑与农村围护结构改造目标与已完工面积（§二(二)）", "make": building_retrofit},
]

if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for layout in LAYOUTS:
        wb = layout["make"]()
        wb.properties.creator = "CleanHeat"
        wb.save(OUT / layout["file"])
    (OUT / "layouts.json").write_text(json.dumps([{k: v for k, v in l.items() if k != "make"} for l in LAYOUTS],
                                                 ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print("written", [l["file"] for l in LAYOUTS])

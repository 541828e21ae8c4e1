"""Progress and dispatch tables as .xlsx (small tables: written directly, in the usual layouts)."""
import xlsxwriter

from cleanheat.ledger.choices import STATE_ORDER, HeatingPath, LifecycleState
from cleanheat.regions import codes

from . import progress, targets

INSTALLED = STATE_ORDER.index("installed")


def write_progress(path, rows, region, on):
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet("改造进度")
    head = wb.add_format({"bold": True, "bg_color": "#DDE6F0", "text_wrap": True, "border": 1})
    ws.write(0, 0, f"{region.name}清洁取暖改造进度（统计日期 {on:%Y-%m-%d}）", wb.add_format({"bold": True, "font_size": 14}))
    header = ["单位", "目标户数", *[f"{s.label}+" for s in LifecycleState], "完工率%", "计划应完工", "落后户数", "距期限（天）"]
    ws.write_row(2, 0, header, head)
    for i, r in enumerate(rows, start=3):
        ws.write_row(i, 0, [r["region"].name, r["target"] if r["target"] is not None else "", *r["reached"],
                            r.get("rate") if r.get("rate") is not None else "", r.get("expected", ""),
                            r["behind"] or "", r.get("days_left", "")])
    ws.set_column(0, 0, 18)
    ws.set_column(1, len(header), 11)
    wb.close()


def write_dispatch_table(path, region, plan, on):
    """调度表: unit × path — target, done (已完工+), rate, rank by rate; plus a total row."""
    counts = progress.counts_on(region.prefix, codes.PREFIX_LENGTH[min(region.level + 1, 4)], on,
                                plan.year if plan else None)
    per_path_targets = {(code, path_): n for code, parts in targets.parts_below(plan, region, on).items()
                        for path_, n in parts["targets"].items()}
    paths = [p for p in HeatingPath if any(k[1] == p.value for k in per_path_targets)] or list(HeatingPath)[:4]
    units = []
    for child in region.children.all().order_by("code"):
        per = counts.get(child.prefix, {})
        row = {"name": child.name, "cells": [], "target": 0, "done": 0}
        for p in paths:
            target = per_path_targets.get((child.code, p.value), 0)
            done = progress.reached(per, p.value)[INSTALLED]
            row["cells"].append((target, done))
            row["target"] += target
            row["done"] += done
        row["rate"] = row["done"] / row["target"] if row["target"] else 0
        units.append(row)
    ranked = sorted(units, key=lambda u: -u["rate"])
    for rank, u in enumerate(ranked, start=1):
        u["rank"] = rank
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet("调度表")
    head = wb.add_format({"bold": True, "bg_color": "#DDE6F0", "align": "center", "border": 1})
    pct = wb.add_format({"num_format": "0.0%"})
    ws.write(0, 0, f"{region.name}清洁取暖改造调度表（截至 {on:%Y-%m-%d}）", wb.add_format({"bold": True, "font_size": 14}))
    ws.merge_range(2, 0, 3, 0, "单位", head)
    col = 1
    for p in paths + ["合计"]:
        ws.merge_range(2, col, 2, col + 2, str(p.label) if hasattr(p, "label") else p, head)
        ws.write_row(3, col, ["目标", "完成", "完成率"], head)
        col += 3
    ws.merge_range(2, col, 3, col, "排名", head)
    r = 4
    for u in units:
        ws.write(r, 0, u["name"])
        c = 1
        for target, done in u["cells"] + [(u["target"], u["done"])]:
            ws.write_number(r, c, target)
            ws.write_number(r, c + 1, done)
            ws.write_number(r, c + 2, done / target if target else 0, pct)
            c += 3
        ws.write_number(r, c, u["rank"])
        r += 1
    ws.write(r, 0, "合计", head)
    c = 1
    for i in range(len(paths) + 1):
        target = sum((u["cells"] + [(u["target"], u["done"])])[i][0] for u in units)
        done = sum((u["cells"] + [(u["target"], u["done"])])[i][1] for u in units)
        ws.write_number(r, c, target)
        ws.write_number(r, c + 1, done)
        ws.write_number(r, c + 2, done / target if target else 0, pct)
        c += 3
    ws.set_column(0, 0, 18)
    wb.close()
    return units

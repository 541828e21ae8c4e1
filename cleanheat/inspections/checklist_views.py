"""The city's checklist editing pages (roles with CHECKLISTS): one page per heating path × inspection
kind listing its items; rows are added, removed and moved on the page (htmx re-renders the form,
nothing is saved), and saving writes a new version through `versions.save_version`. Checklists are
the city's, not a region's data: the permission is the gate (a county role has none: 403)."""
import re

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from cleanheat.access import requires
from cleanheat.accounts import roles
from cleanheat.ledger.choices import HeatingPath

from . import checklists, versions
from .models import Checklist, InspectionKind

FIELDS = ("code", "text", "type", "expected", "min", "max", "valid_min", "valid_max", "unit", "severity")
MAX_ROWS = 60
OP = re.compile(r"^(add|remove|up|down)(?:-(\d+))?$")


def _target(path, kind):
    if path not in HeatingPath.values or kind not in InspectionKind.values:
        raise Http404("未找到")
    return path, kind


def _as_row(spec: dict) -> dict:
    """A stored item as the form shows it (texts)."""
    row = {k: "" if spec.get(k) is None else str(spec[k]) for k in FIELDS}
    row.update({k: checklists.plain(spec[k]) for k in checklists.LIMITS if spec.get(k) is not None})
    row.update(required=bool(spec.get("required", True)), expected="yes" if spec.get("expected", True) else "no")
    return row


def _posted_rows(post) -> list[dict]:
    try:
        count = min(int(post.get("rows") or 0), MAX_ROWS)
    except ValueError:
        count = 0
    return [{**{k: post.get(f"items-{n}-{k}", "") for k in FIELDS}, "required": f"items-{n}-required" in post}
            for n in range(count)]


def _new_code(rows) -> str:
    used = {r["code"] for r in rows}
    return next(f"item_{n}" for n in range(1, MAX_ROWS + len(used) + 2) if f"item_{n}" not in used)


def _apply(rows: list[dict], op: str) -> list[dict]:
    """add / remove-N / up-N / down-N on the rows being edited (nothing is saved)."""
    found = OP.match(op or "")
    if not found:
        return rows
    action, n = found.group(1), int(found.group(2) or 0)
    if action == "add" and len(rows) < MAX_ROWS:
        return [*rows, {**{k: "" for k in FIELDS}, "code": _new_code(rows), "type": "yes_no", "required": True,
                        "expected": "yes", "severity": "normal"}]
    if not 0 <= n < len(rows):
        return rows
    rows = list(rows)
    if action == "remove":
        del rows[n]
    elif action == "up" and n > 0:
        rows[n - 1], rows[n] = rows[n], rows[n - 1]
    elif action == "down" and n < len(rows) - 1:
        rows[n], rows[n + 1] = rows[n + 1], rows[n]
    return rows


@requires(roles.CHECKLISTS)
def checklist_index(request):
    """Every heating path × inspection kind with its latest version."""
    latest = {}
    for c in Checklist.objects.order_by("version").select_related("created_by"):
        latest[c.heating_path, c.kind] = c
    table = [{"path": path, "label": label,
              "cells": [{"kind": kind, "kind_label": kind_label, "checklist": latest.get((path, kind))}
                        for kind, kind_label in InspectionKind.choices]}
             for path, label in HeatingPath.choices]
    return render(request, "inspections/checklist_index.html", {"table": table, "kinds": InspectionKind.choices})


@require_http_methods(["GET", "POST"])
@requires(roles.CHECKLISTS)
def checklist_edit(request, path, kind):
    path, kind = _target(path, kind)
    current = versions.latest(path, kind)
    errors, status = [], 200
    if request.method == "POST":
        rows, title = _posted_rows(request.POST), request.POST.get("title", "")
        based_on = request.POST.get("based_on", "")
        op = request.POST.get("op", "")
        if op == "save":
            try:
                saved = versions.save_version(path, kind, rows, title=title, user=request.user,
                                              based_on=int(based_on) if based_on.isdigit() else None)
            except ValidationError as error:
                errors, status = error.messages, 422
            else:
                if saved is None:
                    messages.info(request, "检查项没有变化，未生成新版本")
                else:
                    messages.success(request, f"已保存为第{saved.version}版：此后新填写的记录使用新版本，"
                                              "已填写的记录保留原版本")
                return redirect("checklist_edit", path=path, kind=kind)
        else:
            rows = _apply(rows, op)
    else:
        rows = [_as_row(s) for s in versions.specs(current)]
        title = current.title if current else ""
        based_on = str(current.version) if current else ""
    context = {"path": path, "kind": kind, "path_label": HeatingPath(path).label,
               "kind_label": InspectionKind(kind).label, "current": current, "rows": rows, "title": title,
               "based_on": based_on, "errors": errors, "types": checklists.TYPES.items(),
               "severities": checklists.SEVERITIES.items()}
    if request.headers.get("HX-Request") and request.method == "POST":
        return render(request, "inspections/_checklist_editor.html", context, status=status)
    context["history"] = versions.history(path, kind)
    return render(request, "inspections/checklist_edit.html", context, status=status)

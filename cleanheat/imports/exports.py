"""Exports: the filtered household list (template columns, so it can be edited and re-imported)
and the five-level rollup table. Read with values_list in chunks, written in constant memory."""
from collections import defaultdict

import xlsxwriter
from django.utils import timezone

from cleanheat.access import has_perm, scope_filter
from cleanheat.accounts.roles import SEE_ID
from cleanheat.ledger.choices import HeatingPath, LifecycleState
from cleanheat.ledger.models import Household
from cleanheat.regions import codes
from cleanheat.regions.models import Region
from cleanheat.regions.rollup import counts_by_unit

from .headers import TEMPLATE_HEADERS
from .xlsx import ENUM_COLUMNS, TEMPLATE_FIELDS, TEXT_FIELDS

DB_FIELDS = ["household_no", "village_id", "householder_name", "id_number_masked", "phone_masked",
             "bank_account_masked", "address", "household_size", "is_dibao", "is_tekun", "is_tuopin",
             "is_canji", "heated_area", "structure", "envelope_retrofitted", "original_facility",
             "heating_path", "electric_device", "state", "state_changed_at"]


def export_households(path, queryset, *, user, progress=None) -> int:
    """Write `queryset` (already scoped and filtered) in the template's layout; identifiers masked."""
    names = dict(Region.objects.values_list("code", "name"))
    labels = {f: {m.value: str(m.label) for m in enum} for f, enum in ENUM_COLUMNS.items()}
    see_id = has_perm(user, SEE_ID)
    total = queryset.count()
    wb = xlsxwriter.Workbook(path, {"constant_memory": True})
    ws = wb.add_worksheet("台账")
    head = wb.add_format({"bold": True, "bg_color": "#DDE6F0"})
    ws.write_row(0, 0, [TEMPLATE_HEADERS[f] for f in TEMPLATE_FIELDS], head)
    for col, f in enumerate(TEMPLATE_FIELDS):
        ws.set_column(col, col, 18 if f in TEXT_FIELDS else 11)
    tz = timezone.get_current_timezone()
    row_index = 0
    for row in queryset.order_by("household_no").values_list(*DB_FIELDS).iterator(chunk_size=5000):
        (no, village, name, id_masked, phone, bank, address, size, dibao, tekun, tuopin, canji, area,
         structure, envelope, facility, path_, device, state, changed) = row
        row_index += 1
        ws.write_row(row_index, 0, [
            no, names.get(codes.full_code(village[:6]), ""), names.get(codes.full_code(village[:9]), ""),
            names.get(village, ""), village, name, id_masked if see_id else "", phone, bank if see_id else "",
            address, size, "是" if dibao else "否", "是" if tekun else "否", "是" if tuopin else "否",
            "是" if canji else "否", float(area), labels["structure"].get(structure, structure),
            "是" if envelope else "否", labels["original_facility"].get(facility, facility),
            labels["heating_path"].get(path_, path_), labels["electric_device"].get(device, ""),
            labels["state"].get(state, state), changed.astimezone(tz).strftime("%Y-%m-%d") if changed else ""])
        if progress and row_index % 5000 == 0:
            progress("write", row_index, total)
    wb.close()
    if progress:
        progress("write", row_index, total)
    return row_index


def export_rollup(path, region: Region, *, user, progress=None) -> int:
    """Every region under `region`, level by level, with households by path and by state."""
    counts = counts_by_unit(region.prefix, 12)
    totals = defaultdict(lambda: defaultdict(int))
    for village, per in counts.items():
        for length in (4, 6, 9, 12):
            if length >= len(region.prefix):
                for key, n in per.items():
                    totals[village[:length]][key] += n
    regions = scope_filter(Region.objects.all(), user, "code").filter(code__startswith=region.prefix).order_by("code")
    paths, states = list(HeatingPath), list(LifecycleState)
    wb = xlsxwriter.Workbook(path, {"constant_memory": True})
    ws = wb.add_worksheet("五级汇总")
    head = wb.add_format({"bold": True, "bg_color": "#DDE6F0", "text_wrap": True})
    ws.write_row(0, 0, ["区划代码", "层级", "名称", "合计", *[str(p.label) for p in paths],
                        *[str(s.label) for s in states]], head)
    level_names = dict(Region.LEVEL_CHOICES)
    row = 0
    for r in regions.iterator(chunk_size=2000):
        per = totals.get(r.prefix, {})
        row += 1
        ws.write_string(row, 0, r.code)
        ws.write_row(row, 1, [str(level_names[r.level]), r.name, sum(per.values()),
                              *[sum(n for (p, _), n in per.items() if p == path) for path in paths],
                              *[sum(n for (_, s), n in per.items() if s == state) for state in states]])
    ws.set_column(0, 0, 14)
    ws.set_column(2, 2, 16)
    wb.close()
    if progress:
        progress("write", row, row)
    return row

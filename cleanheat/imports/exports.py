"""Exports: the filtered household list (template columns, so it can be edited and re-imported)
and the five-level rollup table. Read with values_list in chunks, written as they stream."""
from collections import defaultdict

import rustpy_xlsxwriter
import xlsxwriter
from django.utils import timezone

from cleanheat.access import has_perm, scope_filter
from cleanheat.accounts.roles import SEE_ID
from cleanheat.ledger.choices import HeatingPath, LifecycleState
from cleanheat.ledger.rollup import counts_by_unit
from cleanheat.regions import codes
from cleanheat.regions.models import Region
from cleanheat.sheets.headers import TEMPLATE_HEADERS

from .dates import DATE_FIELDS
from .xlsx import ENUM_COLUMNS, TEMPLATE_FIELDS, TEXT_FIELDS, TEXT_FORMAT

DB_FIELDS = ["household_no", "village_id", "householder_name", "id_number_masked", "phone_masked",
             "bank_account_masked", "electricity_account_masked", "gas_account_masked", "address", "household_size",
             "is_dibao", "is_tekun", "is_tuopin",
             "is_canji", "heated_area", "structure", "envelope_retrofitted", "original_facility",
             "heating_path", "electric_device", "state", "state_changed_at", "heat_source__name",
             "removal_consent_on", "envelope_gain_pct"]


def export_households(path, queryset, *, user, progress=None) -> int:
    """Write `queryset` (already scoped and filtered) in the template's layout; identifiers masked.

    Rows stream from the database in chunks into rustpy-xlsxwriter (a Rust writer that takes a
    generator), so memory stays flat and 212,549 rows take seconds."""
    names = dict(Region.objects.values_list("code", "name"))
    labels = {f: {m.value: str(m.label) for m in enum} for f, enum in ENUM_COLUMNS.items()}
    see_id = has_perm(user, SEE_ID)
    total = queryset.count()
    headers = [TEMPLATE_HEADERS[f] for f in TEMPLATE_FIELDS]
    tz = timezone.get_current_timezone()
    written = 0

    def records():
        nonlocal written
        yes = {True: "是", False: "否"}
        undated = [""] * len(DATE_FIELDS)  # the step dates stay in the lifecycle history, not in the list
        for row in queryset.order_by("household_no").values_list(*DB_FIELDS).iterator(chunk_size=5000):
            (no, village, name, id_masked, phone, bank, electricity, gas, address, size, dibao, tekun, tuopin, canji,
             area, structure, envelope, facility, path_, device, state, changed, source, consent, gain) = row
            written += 1
            if progress and written % 5000 == 0:
                progress("write", written, total)
            yield dict(zip(headers, [
                no, names.get(codes.full_code(village[:6]), ""), names.get(codes.full_code(village[:9]), ""),
                names.get(village, ""), village, name, id_masked if see_id else "", phone, bank if see_id else "",
                electricity, gas, address, size, yes[dibao], yes[tekun], yes[tuopin], yes[canji], float(area),
                labels["structure"].get(structure, structure), yes[envelope],
                labels["original_facility"].get(facility, facility), labels["heating_path"].get(path_, path_),
                labels["electric_device"].get(device, ""), labels["state"].get(state, state),
                changed.astimezone(tz).strftime("%Y-%m-%d") if changed else "", source or "",
                consent.isoformat() if consent else "", "" if gain is None else gain, *undated]))

    text_headers = [h for f, h in zip(TEMPLATE_FIELDS, headers) if f in TEXT_FIELDS]
    if total:  # identifier columns as text, so an edited export re-imports its IDs intact
        text = rustpy_xlsxwriter.Format().set_num_format(TEXT_FORMAT["num_format"])
        rustpy_xlsxwriter.write_worksheet(
            records(), str(path), sheet_name="台账", freeze_row=1, bold_headers=True,
            column_widths={h: (18 if f in TEXT_FIELDS else 11) for f, h in zip(TEMPLATE_FIELDS, headers)},
            column_formats={h: text for h in text_headers})
    else:  # an empty selection still gets the header row
        wb = xlsxwriter.Workbook(str(path))
        ws = wb.add_worksheet("台账")
        ws.write_row(0, 0, headers)
        for col, f in enumerate(TEMPLATE_FIELDS):
            if f in TEXT_FIELDS:
                ws.set_column(col, col, 18, wb.add_format(TEXT_FORMAT))
        wb.close()
    if progress:
        progress("write", written, total)
    return written


def export_rollup(path, region: Region, *, user, year: int | None = None, progress=None) -> int:
    """Every region under `region`, level by level, with households by path and by state, of one
    plan year (None: all years), as the region page chose."""
    counts = counts_by_unit(region.prefix, 12, year=year)
    totals = defaultdict(lambda: defaultdict(int))
    for village, per in counts.items():
        for length in (4, 6, 9, 12):
            if length >= len(region.prefix):
                for key, n in per.items():
                    totals[village[:length]][key] += n
    regions = scope_filter(Region.objects.all(), user, "code").filter(code__startswith=region.prefix).order_by("code")
    paths, states = list(HeatingPath), list(LifecycleState)
    wb = xlsxwriter.Workbook(path, {"constant_memory": True})
    ws = wb.add_worksheet(f"五级汇总（{year}年度）" if year else "五级汇总（全部年度）")
    head = wb.add_format({"bold": True, "bg_color": "#DDE6F0", "text_wrap": True})
    ws.write_row(0, 0, ["区划代码", "层级", "名称", "合计", *[str(p.label) for p in paths],
                        *[str(s.label) for s in states]], head)
    level_names = dict(Region.LEVEL_CHOICES)
    code_format = wb.add_format(TEXT_FORMAT)
    row = 0
    for r in regions.iterator(chunk_size=2000):
        per = totals.get(r.prefix, {})
        row += 1
        ws.write_string(row, 0, r.code, code_format)
        ws.write_row(row, 1, [str(level_names[r.level]), r.name, sum(per.values()),
                              *[sum(n for (p, _), n in per.items() if p == path) for path in paths],
                              *[sum(n for (_, s), n in per.items() if s == state) for state in states]])
    ws.set_column(0, 0, 14, code_format)
    ws.set_column(2, 2, 16)
    wb.close()
    if progress:
        progress("write", row, row)
    return row

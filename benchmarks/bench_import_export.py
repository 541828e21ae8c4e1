"""Import/export at city scale (issue: Excel in, Excel out).

Steps (each measured in its own subprocess, so peak memory is that step's own):
  make-file   write the full demo ledger (212,549 rows) as a template .xlsx (xlsxwriter)
  read-*      readers alone on that file: python-calamine, fastexcel, openpyxl (--openpyxl)
  import      CleanHeat end to end into an empty ledger: parse, validate, write, history
  import-dated  the same rows with a date column for each step (确户日期 … 验收日期) filled in: each
              household's steps are recorded on their days (several lifecycle events per household)
  export      CleanHeat export of all households
  die-import  django-import-export on the first --die-rows rows of the same file (it writes row by
              row; the full file would take far longer), extrapolated per row
  die-export  django-import-export export of all households
  reimport    CleanHeat import of its own export (every row unchanged)
  db-floor    the database alone writing the same rows again in one transaction (PostgreSQL: COPY;
              SQLite: INSERT … SELECT): what no import into this schema can go below

    .venv/bin/pip install -r benchmarks/requirements.txt
    .venv/bin/python benchmarks/bench_import_export.py [--db sqlite|postgres] [--rows N] [--openpyxl]
        [--repeat 3] [--reuse-file] [--baseline DIR] [--dates]

--dates: only the import with and without the step date columns, alternately, --repeat times each on
the same rows, and the ratio of the medians (target <= 1.3x).

--baseline DIR: a checkout of the code before a change (`git worktree add DIR REV`); its import and
this checkout's import run alternately, --repeat times each, on the same file and database, and the
medians are compared (a refactoring's "no more than 5 % slower"), in wall time and in the import
process's CPU time (SQLite runs inside it, so CPU time shifts less when the machine is busy). A
baseline whose script predates `cpu_seconds` shows CPU as nan: copy this script into its checkout.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "data" / "bench"
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/cleanheat_bench")


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def setup_django(db_url, fresh):
    os.environ["DATABASE_URL"] = db_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cleanheat.settings")
    os.environ["CLEANHEAT_DEBUG"] = "0"
    sys.path.insert(0, str(ROOT))
    import django
    if fresh:
        _reset_database(db_url)
    django.setup()
    from django.core.management import call_command
    call_command("migrate", verbosity=0)


def _reset_database(db_url):
    if db_url.startswith("sqlite"):
        for suffix in ("", "-wal", "-shm"):
            Path(db_url[len("sqlite:///"):] + suffix).unlink(missing_ok=True)
    else:
        import psycopg
        base, name = db_url.rsplit("/", 1)
        with psycopg.connect(base + "/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')


def empty_ledger_with_regions():
    """Regions, users, rule data, heat sources and gas contracts of the demo; no households."""
    from django.contrib.auth import get_user_model
    from cleanheat.demo.loader import ensure_demo_users, load_demo_regions, read_config
    from cleanheat.regions.models import Region
    from cleanheat.ledger.models import Household
    from cleanheat.rules.loader import demo_heat_sources, load_rules, read_rules
    from cleanheat.rules.models import GasContract
    cfg = read_config()
    load_rules(read_rules())
    load_demo_regions(cfg)
    demo_heat_sources(list(cfg["counties"]))
    for county in cfg["counties"]:  # enough gas for every coal-to-gas household of the file
        contract = GasContract.objects.create(name=f"{county}基准测试供气合同", gas_company="基准", county_code=county,
                                              season_volume_m3=10**9, pipeline_done=True, safety_passed=True)
        contract.villages.set(Region.objects.filter(level=4, code__startswith=county))
    ensure_demo_users(cfg)
    assert not Household.objects.exists()
    return get_user_model().objects.get(username="city_admin"), cfg


# The fields of the cells step_make_file writes for each household, in that order.
CELL_FIELDS = ["household_no", "county", "township", "village", "village_code", "householder_name", "id_number",
               "phone", "bank_account", "address", "household_size", "is_dibao", "is_tekun", "is_tuopin", "is_canji",
               "heated_area", "structure", "envelope_retrofitted", "original_facility", "heating_path",
               "electric_device", "state", "state_date", "heat_source", "removal_consent_on", "envelope_gain_pct"]


def step_make_file(args):
    setup_django(args.db_url, fresh=True)
    import xlsxwriter
    from cleanheat.sheets.headers import TEMPLATE_HEADERS
    from cleanheat.imports.xlsx import TEMPLATE_FIELDS
    from cleanheat.ledger import demo
    from cleanheat.ledger.choices import ElectricDevice, HeatingPath, LifecycleState, OriginalFacility, Structure
    from cleanheat.regions.models import Region
    from cleanheat.imports.dates import DATE_FIELDS
    from cleanheat.ledger.lifecycle import STEPS as ORDER
    _, cfg = empty_ledger_with_regions()
    villages = demo.village_weights(cfg, Region.objects.filter(level=4).order_by("code").values_list("code", "kind"))
    label = {e: {m.value: str(m.label) for m in e} for e in (Structure, OriginalFacility, HeatingPath, ElectricDevice, LifecycleState)}
    started = time.perf_counter()
    # two files of the same rows: without the step date columns (args.file) and with them
    base = [f for f in TEMPLATE_FIELDS if f not in DATE_FIELDS.values()]
    dated_fields = [DATE_FIELDS[step] for step in ORDER[:ORDER.index("accepted") + 1]]
    wb = xlsxwriter.Workbook(str(args.file), {"constant_memory": True})
    ws = wb.add_worksheet("台账")
    ws.write_row(0, 0, [TEMPLATE_HEADERS[f] for f in base])
    dated_wb = xlsxwriter.Workbook(str(dated_file(args)), {"constant_memory": True})
    dated_ws = dated_wb.add_worksheet("台账")
    dated_ws.write_row(0, 0, [TEMPLATE_HEADERS[f] for f in base + dated_fields])
    n = 0
    yes = {True: "是", False: "否"}.__getitem__
    # New households may be imported up to 已验收 (proven/removed need their season history, 先立后破)
    capped = {"proven": "accepted", "removed": "accepted"}
    for rec in demo.generate_households(cfg, villages):
        if args.rows and n >= args.rows:
            break
        n += 1
        state = capped.get(rec["state"], rec["state"])
        installed = state in ("installed", "accepted")
        source = (f"{rec['county']}示范热源（演示）" if rec["heating_path"] == "central" else
                  f"{rec['county']}生物质热电（演示）" if rec["heating_path"] == "biomass" else "") if installed else ""
        cells = ["", "", "", "", rec["village"], rec["householder_name"], rec["id_number"], rec["phone"], "",
                            rec["address"], rec["household_size"], yes(rec["is_dibao"]), yes(rec["is_tekun"]),
                            yes(rec["is_tuopin"]), yes(rec["is_canji"]), rec["heated_area"],
                            label[Structure][rec["structure"]], yes(rec["envelope_retrofitted"]),
                            label[OriginalFacility][rec["original_facility"]], label[HeatingPath][rec["heating_path"]],
                            label[ElectricDevice].get(rec["electric_device"], ""), label[LifecycleState][state],
                            rec["steps"][min(len(rec["steps"]), 5) - 1][1].isoformat(), source, "",
                            rec["envelope_gain_pct"] if rec["envelope_gain_pct"] is not None else ""]
        cells = [dict(zip(CELL_FIELDS, cells)).get(f, "") for f in base]  # by name: the template may gain columns
        ws.write_row(n, 0, cells)
        days = dict(rec["steps"][:5])
        dated_ws.write_row(n, 0, cells + [days[step].isoformat() if step in days else "" for step in ORDER[:5]])
    wb.close()
    dated_wb.close()
    return {"rows": n, "seconds": time.perf_counter() - started, "what": "xlsxwriter write of the template"}


def step_read(args, reader):
    started = time.perf_counter()
    if reader == "calamine":
        from python_calamine import CalamineWorkbook
        rows = CalamineWorkbook.from_path(str(args.file)).get_sheet_by_index(0).to_python()
        n = len(rows)
    elif reader == "fastexcel":
        import fastexcel
        n = fastexcel.read_excel(str(args.file)).load_sheet(0, header_row=0).height + 1
    else:
        import openpyxl
        wb = openpyxl.load_workbook(str(args.file), read_only=True)
        n = sum(1 for _ in wb.worksheets[0].iter_rows(values_only=True))
    return {"rows": n, "seconds": time.perf_counter() - started, "what": f"{reader} read only"}


def dated_file(args):
    return args.file.with_name(args.file.stem + "-dated.xlsx")


def step_import(args, dated=False):
    setup_django(args.db_url, fresh=True)
    user, _ = empty_ledger_with_regions()
    from cleanheat.imports import ledger_import
    from cleanheat.ledger.models import Household, HouseholdChange, LifecycleEvent
    path = dated_file(args) if dated else args.file
    started, cpu_started = time.perf_counter(), time.process_time()
    result = ledger_import.analyse(path, user=user, filename=path.name)
    analysed = time.perf_counter() - started
    ledger_import.commit(result, user=user)
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started  # SQLite works in this process: steadier than wall time
    return {"rows": Household.objects.count(), "history": HouseholdChange.objects.count(),
            "events": LifecycleEvent.objects.count(), "seconds": seconds, "cpu_seconds": cpu_seconds,
            "analyse_seconds": analysed,
            "counts": result.counts,
            "what": "CleanHeat import end to end" + (" with a date column per step" if dated else "")}


def step_reimport(args):
    """The export of the whole city, imported again: every row answers "unchanged"."""
    setup_django(args.db_url, fresh=False)
    from django.contrib.auth import get_user_model
    from cleanheat.imports import ledger_import
    user = get_user_model().objects.get(username="city_admin")
    started = time.perf_counter()
    result = ledger_import.analyse(WORK / "export.xlsx", user=user, filename="export.xlsx")
    ledger_import.commit(result, user=user)
    return {"rows": sum(result.counts.values()), "seconds": time.perf_counter() - started, "counts": result.counts,
            "what": "CleanHeat re-import of its own export"}


def step_db_floor(args):
    """What the database alone needs to store what the import stored: the rows of households and
    their history, already in the database's own form, written again in one transaction."""
    setup_django(args.db_url, fresh=False)
    from django.db import connection, transaction
    tables = ["ledger_household", "ledger_lifecycleevent", "ledger_householdchange"]
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            dumps = {}
            for table in tables:
                with cur.cursor.copy(f'COPY "{table}" TO STDOUT') as copy:
                    dumps[table] = b"".join(bytes(block) for block in copy)
            cur.execute("TRUNCATE " + ", ".join(tables) + " CASCADE")
        else:
            for table in tables:
                cur.execute(f'CREATE TEMP TABLE "saved_{table}" AS SELECT * FROM "{table}"')
            with transaction.atomic():
                for table in reversed(tables):
                    cur.execute(f'DELETE FROM "{table}"')
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        for table in tables:
            if connection.vendor == "postgresql":
                with cur.cursor.copy(f'COPY "{table}" FROM STDIN') as copy:
                    copy.write(dumps[table])
            else:
                cur.execute(f'INSERT INTO "{table}" SELECT * FROM "saved_{table}"')
    seconds = time.perf_counter() - started
    from cleanheat.ledger.models import Household
    return {"rows": Household.objects.count(), "seconds": seconds,
            "what": "the database alone storing the same rows in one transaction (floor)"}


def step_export(args):
    setup_django(args.db_url, fresh=False)
    from django.contrib.auth import get_user_model
    from cleanheat.imports.exports import export_households
    from cleanheat.ledger.queries import household_queryset
    user = get_user_model().objects.get(username="city_admin")
    started = time.perf_counter()
    n = export_households(str(WORK / "export.xlsx"), household_queryset(user), user=user)
    return {"rows": n, "seconds": time.perf_counter() - started, "what": "CleanHeat export"}


def _die_resource():
    from import_export import fields, resources
    from cleanheat.ledger.models import Household

    class HouseholdResource(resources.ModelResource):
        household_no = fields.Field(attribute="household_no", column_name="户编号")
        village = fields.Field(attribute="village_id", column_name="村区划代码")
        householder_name = fields.Field(attribute="householder_name", column_name="户主姓名")
        id_number = fields.Field(attribute="id_number_masked", column_name="身份证号")
        phone = fields.Field(attribute="phone_masked", column_name="联系电话")
        address = fields.Field(attribute="address", column_name="住址（门牌号）")
        household_size = fields.Field(attribute="household_size", column_name="家庭人口")
        heated_area = fields.Field(attribute="heated_area", column_name="采暖面积（㎡）")
        structure = fields.Field(attribute="structure", column_name="房屋结构")
        original_facility = fields.Field(attribute="original_facility", column_name="原取暖设施")
        heating_path = fields.Field(attribute="heating_path", column_name="取暖路径")
        electric_device = fields.Field(attribute="electric_device", column_name="煤改电设备类型")
        state = fields.Field(attribute="state", column_name="改造状态")

        class Meta:
            model = Household
            import_id_fields = ["household_no"]
            fields = ["household_no", "village", "householder_name", "id_number", "phone", "address",
                      "household_size", "heated_area", "structure", "original_facility", "heating_path",
                      "electric_device", "state"]

        def before_import_row(self, row, **kwargs):
            if not row.get("户编号"):
                row["户编号"] = f"B{kwargs.get('row_number', 0):012d}"

    return HouseholdResource()


def step_die_import(args):
    setup_django(args.db_url, fresh=True)
    empty_ledger_with_regions()
    import tablib
    from python_calamine import CalamineWorkbook
    rows = CalamineWorkbook.from_path(str(args.file)).get_sheet_by_index(0).to_python()[: args.die_rows + 1]
    dataset = tablib.Dataset(*[[str(c) for c in r] for r in rows[1:]], headers=[str(h) for h in rows[0]])
    started = time.perf_counter()
    result = _die_resource().import_data(dataset, dry_run=False, raise_errors=False)
    seconds = time.perf_counter() - started
    return {"rows": len(dataset), "seconds": seconds, "errors": result.has_errors(),
            "what": f"django-import-export import of {len(dataset)} rows"}


def step_die_export(args):
    setup_django(args.db_url, fresh=False)
    started = time.perf_counter()
    dataset = _die_resource().export()
    data = dataset.export("xlsx")
    (WORK / "die-export.xlsx").write_bytes(data)
    return {"rows": len(dataset), "seconds": time.perf_counter() - started, "what": "django-import-export export (xlsx)"}


STEPS = {"make-file": step_make_file, "read-calamine": lambda a: step_read(a, "calamine"),
         "read-fastexcel": lambda a: step_read(a, "fastexcel"), "read-openpyxl": lambda a: step_read(a, "openpyxl"),
         "import": step_import, "import-dated": lambda a: step_import(a, dated=True), "export": step_export, "die-import": step_die_import, "die-export": step_die_export,
         "reimport": step_reimport, "db-floor": step_db_floor}


REPEATED = ("read-calamine", "read-fastexcel", "import", "import-dated", "export", "reimport", "db-floor")


def run_step(name, args):
    """Run a step in its own process (--repeat times for the timed ones): the median time, the
    largest peak memory."""
    cmd = [sys.executable, __file__, "--step", name, "--db", args.db, "--rows", str(args.rows),
           "--die-rows", str(args.die_rows)]
    runs = []
    for _ in range(args.repeat if name in REPEATED else 1):
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode:
            print(f"  {name}: FAILED\n{out.stderr[-2000:]}")
            return None
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    data = dict(runs[0], seconds=statistics.median(r["seconds"] for r in runs), peak_mb=max(r["peak_mb"] for r in runs))
    times = " / ".join(f"{r['seconds']:.1f}" for r in runs) if len(runs) > 1 else ""
    print(f"  {name:<14} {data['seconds']:8.1f} s  peak {data['peak_mb']:7.0f} MB  rows {data['rows']:>7}  ({data['what']})"
          + (f"  runs: {times}" if times else ""))
    return data


def compare_import(args):
    """The import step of the baseline checkout and of this one, alternately, on the same file."""
    baseline_work = args.baseline / "data" / "bench"
    if not baseline_work.exists():  # the baseline's script reads and writes in its own data/bench
        baseline_work.parent.mkdir(parents=True, exist_ok=True)
        baseline_work.symlink_to(WORK, target_is_directory=True)
    times = {"baseline": [], "this": []}
    cpu = {"baseline": [], "this": []}
    for _ in range(args.repeat):
        for name, root in (("baseline", args.baseline), ("this", ROOT)):
            cmd = [sys.executable, str(root / "benchmarks" / "bench_import_export.py"), "--step", "import",
                   "--db", args.db, "--rows", str(args.rows)]
            out = subprocess.run(cmd, capture_output=True, text=True, cwd=root)
            if out.returncode:
                sys.exit(f"{name}: FAILED\n{out.stderr[-2000:]}")
            data = json.loads(out.stdout.strip().splitlines()[-1])
            times[name].append(data["seconds"])
            cpu[name].append(data.get("cpu_seconds", float("nan")))
            print(f"  {name:<9} import {data['seconds']:7.1f} s, CPU {cpu[name][-1]:7.1f} s  "
                  f"({data['rows']} households, {data.get('events', '?')} events, {data['counts']})")
    base, this = statistics.median(times["baseline"]), statistics.median(times["this"])
    paired = statistics.median(t / b for t, b in zip(times["this"], times["baseline"]))
    print(f"import medians: baseline {base:.1f} s, this {this:.1f} s = {this / base:.3f}x; median of the "
          f"{len(times['this'])} back-to-back pairs' ratios {paired:.3f}x (target <= 1.05x)")
    cpu_paired = statistics.median(t / b for t, b in zip(cpu["this"], cpu["baseline"]))
    print(f"CPU medians: baseline {statistics.median(cpu['baseline']):.1f} s, this {statistics.median(cpu['this']):.1f}"
          f" s; median of the pairs' CPU ratios {cpu_paired:.3f}x (target <= 1.05x)")


def compare_dates(args):
    """The import without and with the step date columns on the same rows, alternately."""
    times = {"import": [], "import-dated": []}
    for _ in range(args.repeat):
        for name in times:
            cmd = [sys.executable, __file__, "--step", name, "--db", args.db, "--rows", str(args.rows)]
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode:
                sys.exit(f"{name}: FAILED\n{out.stderr[-2000:]}")
            data = json.loads(out.stdout.strip().splitlines()[-1])
            times[name].append(data["seconds"])
            print(f"  {name:<13} {data['seconds']:7.1f} s (validate {data['analyse_seconds']:.1f} s)  "
                  f"{data['rows']} households, {data['events']} lifecycle events, {data['counts']}")
    plain, dated = statistics.median(times["import"]), statistics.median(times["import-dated"])
    print(f"import medians: without step dates {plain:.1f} s, with them {dated:.1f} s = {dated / plain:.2f}x "
          "(target <= 1.3x)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--rows", type=int, default=0, help="limit rows (0 = the full 212,549)")
    parser.add_argument("--die-rows", type=int, default=5000)
    parser.add_argument("--openpyxl", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each timed step; the median is reported")
    parser.add_argument("--reuse-file", action="store_true", help="keep the generated .xlsx if it exists")
    parser.add_argument("--baseline", type=Path, help="a checkout to compare this import with (see the docstring)")
    parser.add_argument("--dates", action="store_true", help="only the import without vs with step date columns")
    parser.add_argument("--step")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    args.file = WORK / ("ledger-full.xlsx" if not args.rows else f"ledger-{args.rows}.xlsx")
    args.db_url = f"sqlite:///{WORK / 'bench.sqlite3'}" if args.db == "sqlite" else PG_URL
    if args.step:
        data = STEPS[args.step](args)
        data["peak_mb"] = peak_mb()
        print(json.dumps(data, default=str))
        return
    print(f"database: {args.db}; file: {args.file.name}")
    if args.baseline or args.dates:
        if not (args.file.exists() and (args.baseline or dated_file(args).exists())):
            run_step("make-file", args)
        (compare_dates if args.dates else compare_import)(args)
        return
    results = {}
    make = [] if args.reuse_file and args.file.exists() else ["make-file"]
    steps = make + ["read-calamine", "read-fastexcel"] + (["read-openpyxl"] if args.openpyxl else []) + \
        ["import", "import-dated", "db-floor", "export", "reimport", "die-export", "die-import"]
    for step in steps:
        results[step] = run_step(step, args)
    reads = [r["seconds"] for k, r in results.items() if k.startswith("read-") and r]
    imp, exp = results.get("import"), results.get("export")
    if imp and reads:
        print(f"import / fastest reader: {imp['seconds'] / min(reads):.2f}x (target <= 2.5x)")
    if imp and results.get("import-dated"):
        print(f"import with a date column per step: {results['import-dated']['seconds'] / imp['seconds']:.2f}x the "
              "import without them, same rows (target <= 1.3x)")
    if imp and results.get("die-import"):
        die = results["die-import"]
        per_row = die["seconds"] / die["rows"]
        print(f"django-import-export: {per_row * 1000:.2f} ms/row -> {per_row * imp['rows']:.0f} s for {imp['rows']} rows"
              f" (extrapolated); CleanHeat is {per_row * imp['rows'] / imp['seconds']:.1f}x faster (target >= 20x)")
    if imp and results.get("db-floor"):
        floor = results["db-floor"]["seconds"]
        print(f"database floor: {floor:.1f} s = {floor / min(reads):.2f}x the fastest reader; the import spends "
              f"{imp['seconds'] - floor:.1f} s beyond it")
    if exp and results.get("die-export"):
        print(f"export: CleanHeat {exp['seconds']:.1f} s vs django-import-export {results['die-export']['seconds']:.1f} s"
              f" = {results['die-export']['seconds'] / exp['seconds']:.1f}x (target >= 5x)")


if __name__ == "__main__":
    main()

"""Notices to residents (issue #19 part 6): one village's 公示 and 告知书 PDFs for 300 households.
Target: ≤ 5 s for a village's notices PDF (300 households).

It renders the two templates with 300 synthetic rows (masked names and IDs,
path, equipment, two subsidy lines each) through cleanheat.pdf.render_pdf, i.e. the WeasyPrint cost,
which dominates, in one piece (the baseline) and, for the 告知书 as the site serves them, laid out in
parts on every core (cleanheat.pdf.render_pdf_split); the database reads (one query for the households with their lines, one for the
allocations) are not in it. Median of --repeat runs, wall and this process's CPU time (the machine
is shared: under load the wall time grows with others' work, the CPU time much less); pages counted
with pdfinfo.

    .venv/bin/python benchmarks/bench_resident_notices.py [--households 300] [--repeat 3]
"""
import argparse
import functools
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rows(n: int) -> list[dict]:
    return [{"no": f"1409020{i:06d}", "name": "王*国", "id": "1409**********0016", "path": "煤改电",
             "device": "空气源热泵（热风型）", "model": "YZ-RF10", "equipment_of": "低温空气源热泵（热风型） 云中暖风电器有限公司",
             "subsidies": [{"year": 2026, "kind": "设备购置补贴", "season": 0, "amount": "8,000.00", "status": "已审核"},
                           {"year": 2026, "kind": "运行补贴", "season": 2026, "amount": "1,200.00", "status": "已审核"}],
             "total": "9,200.00"} for i in range(n)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cleanheat.settings")
    import django
    django.setup()
    # local imports: the project's modules need the settings configured by django.setup() above
    from django.utils import translation

    from cleanheat.pdf import render_pdf, render_pdf_split
    from cleanheat.regions.models import Region
    from cleanheat.reports.notices import STYLES

    translation.activate("zh-hans")
    context = {"region": Region(code="140902001001", name="东大街社区居民委员会", level=4),
               "place": "忻府区 秀容街道 东大街社区居民委员会", "rows": rows(args.households),
               "hotline": {"name": "忻州市清洁取暖服务热线", "number": "0350-12345"}}
    split = functools.partial(render_pdf_split, split="rows")
    for label, render, template in (("one piece", render_pdf, "reports/resident_roster.html"),
                                    ("one piece (baseline)", render_pdf, "reports/resident_letters.html"),
                                    ("in parts, as served", split, "reports/resident_letters.html")):
        times, cpu = [], []
        for _ in range(args.repeat):
            start, start_cpu = time.perf_counter(), time.process_time()
            content = render(template, context, stylesheets=STYLES)
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        info = subprocess.run(["pdfinfo", "-"], input=content, capture_output=True, check=True).stdout.decode()
        pages = next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:"))
        print(f"{template}, {label}: {args.households} households, {pages} pages, {len(content) / 1024:.0f} KiB, "
              f"median {statistics.median(times):.2f} s (runs {', '.join(f'{t:.2f}' for t in times)}; target ≤ 5 s); "
              f"CPU median {statistics.median(cpu):.2f} s (this process only, not its workers: on a busy "
              f"machine the wall time also counts other processes' turns)")


if __name__ == "__main__":
    main()

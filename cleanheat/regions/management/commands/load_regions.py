from pathlib import Path

from django.core.management.base import BaseCommand

from cleanheat.regions.loader import load_regions, read_csv


class Command(BaseCommand):
    help = "导入行政区划（CSV：code,name,kind）/ load divisions from a CSV file"

    def add_arguments(self, parser):
        parser.add_argument("csv_file", type=Path)

    def handle(self, csv_file, **options):
        written = load_regions(read_csv(csv_file))
        self.stdout.write(f"已写入 {written} 条区划 / {written} regions written")

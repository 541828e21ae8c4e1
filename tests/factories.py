"""Synthetic residents for tests: valid checksums, invented people."""
import itertools

from cleanheat.ledger.identity import id_check_char
from cleanheat.regions.models import Region

_serial = itertools.count(1)


def new_id_number(county="140902", born="19700101"):
    first17 = f"{county}{born}{900 + next(_serial) % 99:03d}"
    return first17 + id_check_char(first17)


def village(county="140902"):
    return Region.objects.filter(level=4, code__startswith=county).order_by("code").first()


def household_data(**overrides):
    county = overrides.pop("county", "140902")
    data = {
        "village": village(county).code,
        "householder_name": "测试户主",
        "id_number": new_id_number(county, born=f"19{50 + next(_serial) % 40}0{1 + next(_serial) % 9}15"),
        "phone": "13912345678",
        "address": "1号",
        "household_size": "3",
        "heated_area": "96.5",
        "structure": "brick_concrete",
        "original_facility": "tunuanqi",
        "heating_path": "central",
        "heat_source": f"{county}示范热源（演示）",
    }
    data.update(overrides)
    return data

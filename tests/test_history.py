"""The public history module: each kind of event leaves the row a clerk reads in 变更记录."""
import pytest

from cleanheat.ledger import history
from cleanheat.ledger.choices import Channel
from cleanheat.ledger.models import Household

pytestmark = pytest.mark.django_db


def _household():
    household = Household.objects.filter(archived=False).order_by("id").first()
    assert household is not None
    return household


@pytest.mark.parametrize("write,kwargs,expected", [
    (history.household_created, {"source": "台账.xlsx"}, ("created", "", "{no}", "台账.xlsx")),
    (history.state_changed, {"from_state": "confirmed", "to_state": "selected", "reason": "分配型号"},
     ("state", "confirmed", "selected", "分配型号")),
    (history.archived, {"reason": "重复登记"}, ("archived", "否", "是", "重复登记")),
    (history.restored, {"reason": "误归档"}, ("archived", "是", "否", "误归档")),
    (history.outage_recorded, {"summary": "2026-01-05至未修复：不热"}, ("outage", "", "2026-01-05至未修复：不热", "")),
    (history.equipment_allocated, {"equipment": "甲公司 KRS10（合同X-1）"}, ("equipment", "", "甲公司 KRS10（合同X-1）", "")),
    (history.equipment_released, {"equipment": "甲公司 KRS10（合同X-1）", "reason": "型号有误"},
     ("equipment", "甲公司 KRS10（合同X-1）", "", "型号有误")),
])
def test_each_event_writes_one_history_row_with_the_households_version(county_clerk, write, kwargs, expected):
    household = _household()
    before = household.changes.count()
    write(household=household, user=county_clerk, channel=Channel.API, **kwargs)
    rows = list(household.changes.order_by("id")[before:])
    assert len(rows) == 1
    row = rows[0]
    field, old, new, source = expected
    assert (row.field, row.old_value, row.new_value, row.source) == \
        (field, old, new.format(no=household.household_no), source)
    assert (row.user, row.channel, row.version) == (county_clerk, Channel.API, household.version)


def test_fields_changed_writes_every_change_of_one_write(county_clerk):
    household = _household()
    before = household.changes.count()
    history.fields_changed(household=household, changes=[("address", "旧址", "新址"), ("household_size", "3", "4")],
                           user=county_clerk, channel=Channel.UI, source="入户核实")
    rows = household.changes.order_by("id")[before:]
    assert [(r.field, r.old_value, r.new_value, r.source) for r in rows] == [
        ("address", "旧址", "新址", "入户核实"), ("household_size", "3", "4", "入户核实")]

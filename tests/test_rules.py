"""The plan's rules: edge cases of each check, and every rule blocking the write through all four
doors (web form, API, import, management command), with a message citing the plan section."""
import json
from datetime import date

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from cleanheat.imports import ledger_import
from cleanheat.ledger import services
from cleanheat.ledger.models import Household, MaintenanceRecord
from cleanheat.rules import checks, engine
from cleanheat.rules.models import GasContract, HeatSource, RuleConfig
from cleanheat.regions.models import Region

from .conftest import make_user
from .factories import accept, household_data
from .sheets import TEMPLATE_HEADER, template_row, write_sheet

SEASONS = [(date(2022, 11, 3), date(2023, 3, 27)), (date(2023, 11, 3), date(2024, 3, 27))]


# ---- edge cases of the checks ----------------------------------------------------------------

def test_commissioning_one_day_after_the_season_start_does_not_count_for_that_season():
    today = date(2023, 6, 1)
    assert checks.proven_season(date(2022, 11, 2), SEASONS, [], 3, today) is None
    message = checks.proven_season(date(2022, 11, 3), SEASONS, [], 3, today)
    assert "2023-11-03" in message and "尚未结束" in message and "先立后破" in message


def test_an_outage_longer_than_the_limit_voids_the_season():
    today = date(2023, 6, 1)
    assert checks.proven_season(date(2022, 10, 1), SEASONS, [(date(2022, 12, 1), date(2022, 12, 3))], 3, today) is None
    message = checks.proven_season(date(2022, 10, 1), SEASONS, [(date(2022, 12, 1), date(2022, 12, 4))], 3, today)
    assert "停暖4天" in message and "超过允许的3天" in message
    unresolved = checks.proven_season(date(2022, 10, 1), SEASONS, [(date(2023, 3, 20), None)], 3, today)
    assert "停暖8天" in unresolved  # runs to the end of the season


@pytest.mark.django_db
def test_b_minus_is_refused_by_default_and_accepted_when_configured():
    source = HeatSource.objects.create(name="某焦化余热", kind="waste_heat", county_code="140902", grade="B-")
    village = Region.objects.filter(level=4, code__startswith="140902").first().code
    assert "B-" in engine.heat_source_problem(source, village)
    RuleConfig.objects.filter(city_code="140900000000").update(accepted_grades="A,B,B-")
    assert engine.heat_source_problem(source, village) is None
    source.on_exit_list = True
    assert "淘汰关停" in engine.heat_source_problem(source, village)


@pytest.mark.django_db
def test_a_contract_at_99_9_percent_of_demand_refuses_the_next_household():
    admin = make_user("gas_admin", "1409", role="city_admin")
    village = Region.objects.filter(level=4, code__startswith="140927").order_by("code").last()
    index = float(engine.config_for(village.code).gas_index_m3_per_m2)
    first = services.create_household(household_data(county="140927", village=village.code, heating_path="gas",
                                                     heated_area="100"), user=admin)
    contract = GasContract.objects.create(name="测试合同", gas_company="某燃气", county_code="140927",
                                          season_volume_m3=int(100 * index * 2 * 0.999),
                                          pipeline_done=True, safety_passed=True)
    contract.villages.add(village)
    services.transition(first, "selected", user=admin)  # 100 m² fits
    second = services.create_household(household_data(county="140927", village=village.code, heating_path="gas",
                                                      heated_area="100"), user=admin)
    with pytest.raises(Exception) as refused:
        services.transition(second, "selected", user=admin)
    assert "缺口" in str(refused.value) and "以气定改" in str(refused.value)
    contract.season_volume_m3 = int(100 * index * 2)
    contract.save()
    services.transition(second, "selected", user=admin)


# ---- every rule through every door ------------------------------------------------------------

@pytest.fixture
def clerk(db):
    return make_user("rule_clerk", "140928", role="county_clerk")


def _walk(h, user, states_and_dates):
    h.lifecycle_events.update(occurred_on=date(2022, 3, 1))  # as if registered in spring 2022
    for state, day in states_and_dates:
        if state == "accepted":  # 已验收 needs an acceptance record (issue #18)
            accept(h, user=user, on=day)
        else:
            services.transition(h, state, user=user, occurred_on=day)


def scenario(rule, clerk):
    """A household one write away from breaking `rule`: (household, the write, what the message cites).
    The write is a target state, or a dict of field changes."""
    village = Region.objects.filter(level=4, code__startswith="140928").order_by("code").first().code
    if rule == "先立后破":
        h = services.create_household(household_data(county="140928", village=village), user=clerk)
        _walk(h, clerk, [("selected", date(2023, 6, 1)), ("installing", date(2023, 7, 1)),
                         ("installed", date(2023, 10, 1)), ("accepted", date(2023, 10, 20))])
        services.record_outage(h, reported_on=date(2023, 12, 1), resolved_on=date(2023, 12, 10),
                               description="热源故障停暖", user=clerk)
        return h, "proven", "先立后破"
    if rule == "以气定改":
        h = services.create_household(household_data(county="140928", village=village, heating_path="gas"), user=clerk)
        GasContract.objects.filter(villages__code=village).delete()
        return h, "selected", "以气定改"
    if rule == "节能改造30%":
        h = services.create_household(household_data(county="140928", village=village), user=clerk)
        return h, {"envelope_retrofitted": "是", "envelope_gain_pct": "20"}, "30%以上"
    if rule == "生物质烟气净化":
        source = HeatSource.objects.create(name="某生物质锅炉房（无烟气净化）", kind="biomass_chp", county_code="140928",
                                           grade="B", flue_gas_cleaning=False)
        data = household_data(county="140928", village=village, heating_path="biomass", heat_source=str(source.pk))
    else:
        source = HeatSource.objects.create(name="某钢厂余热（B-）", kind="waste_heat", county_code="140928", grade="B-")
        data = household_data(county="140928", village=village, heat_source=str(source.pk))
    h = services.create_household(data, user=clerk)
    _walk(h, clerk, [("selected", date(2023, 6, 1)), ("installing", date(2023, 7, 1))])
    return h, "installed", "烟气净化" if rule == "生物质烟气净化" else "B级及以上"


DOORS = ["ui", "api", "import", "command"]
RULE_NAMES = ["先立后破", "以气定改", "热源环保绩效", "生物质烟气净化", "节能改造30%"]


@pytest.mark.django_db
@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("rule", RULE_NAMES)
def test_each_rule_blocks_every_door(client, clerk, tmp_path, rule, door, capsys):
    household, write, cited = scenario(rule, clerk)
    household.refresh_from_db()
    before = (household.state, household.envelope_retrofitted)
    client.force_login(clerk)
    url = f"/households/{household.household_no}"
    if door == "ui":
        if isinstance(write, str):
            shown = client.post(f"{url}/transition/", {"to_state": write}, follow=True).content.decode()
        else:
            from .test_views import _form_values
            shown = client.post(f"{url}/edit/", {**_form_values(household), "envelope_retrofitted": "on",
                                                 "envelope_gain_pct": write["envelope_gain_pct"]}).content.decode()
    elif door == "api":
        response = client.post(f"/api{url}/transition", json.dumps({"to_state": write}), content_type="application/json") \
            if isinstance(write, str) else \
            client.patch(f"/api{url}", json.dumps({"envelope_retrofitted": True, "envelope_gain_pct": 20}),
                         content_type="application/json")
        assert response.status_code == 422
        shown = json.dumps(response.json(), ensure_ascii=False)
    else:
        cells = {"state": str(dict(services.LifecycleState.choices)[write])} if isinstance(write, str) else write
        sheet = write_sheet(tmp_path / "rule.xlsx", TEMPLATE_HEADER,
                            [template_row(household_no=household.household_no, **cells)])
        if door == "import":
            result = ledger_import.analyse(sheet, user=clerk, filename="rule.xlsx")
            shown = "\n".join(result.problems())
            with pytest.raises(ledger_import.ImportRefused):
                ledger_import.commit(result, user=clerk)
        else:
            with pytest.raises(CommandError):
                call_command("import_ledger", str(sheet), "--user", "rule_clerk", "--commit")
            shown = capsys.readouterr().out
    assert cited in shown and "《实施方案》" in shown, shown[-500:]
    household.refresh_from_db()
    assert (household.state, household.envelope_retrofitted) == before


@pytest.mark.django_db
def test_removal_needs_the_residents_consent(clerk):
    village = Region.objects.filter(level=4, code__startswith="140928").order_by("code").first().code
    h = services.create_household(household_data(county="140928", village=village), user=clerk)
    _walk(h, clerk, [("selected", date(2022, 6, 1)), ("installing", date(2022, 7, 1)), ("installed", date(2022, 10, 1)),
                     ("accepted", date(2022, 10, 20)), ("proven", date(2023, 4, 1))])
    with pytest.raises(Exception, match="居民同意"):
        services.transition(h, "removed", user=clerk)
    services.update_household(h, {"removal_consent_on": "2023-04-10"}, user=clerk)
    services.transition(h, "removed", user=clerk, occurred_on=date(2023, 4, 15))
    h.refresh_from_db()
    assert h.state == "removed" and h.original_facility_removed


@pytest.mark.django_db
def test_an_outage_is_recorded_on_the_household_page_with_history(client, clerk):
    village = Region.objects.filter(level=4, code__startswith="140928").order_by("code").first().code
    h = services.create_household(household_data(county="140928", village=village), user=clerk)
    client.force_login(clerk)
    client.post(f"/households/{h.household_no}/outage/", {"reported_on": "2023-01-05", "resolved_on": "2023-01-09",
                                                          "description": "电网故障"})
    record = MaintenanceRecord.objects.get(household=h)
    assert (record.is_outage, record.reported_on, record.resolved_on) == (True, date(2023, 1, 5), date(2023, 1, 9))
    page = client.get(f"/households/{h.household_no}/").content.decode()
    assert "电网故障" in page and "停暖记录" in page
    refused = client.post(f"/households/{h.household_no}/outage/", {"reported_on": "2023-01-09",
                                                                    "resolved_on": "2023-01-05", "description": "x"},
                          follow=True).content.decode()
    assert "修复日期不能早于停暖日期" in refused and MaintenanceRecord.objects.filter(household=h).count() == 1


@pytest.mark.django_db
def test_an_import_counts_earlier_rows_of_the_same_file_against_the_gas_contract(clerk, tmp_path):
    village = Region.objects.filter(level=4, code__startswith="140928").order_by("code").last()
    GasContract.objects.filter(villages=village).delete()
    index = float(engine.config_for(village.code).gas_index_m3_per_m2)
    contract = GasContract.objects.create(name="两户合同", gas_company="某燃气", county_code="140928",
                                          season_volume_m3=int(2 * 100 * index), pipeline_done=True, safety_passed=True)
    contract.villages.add(village)
    existing = float(sum(h.heated_area for h in Household.objects.filter(village=village, heating_path="gas")
                         .exclude(state="confirmed")))
    assert existing == 0
    rows = [template_row(village_code=village.code, householder_name=f"气{i}", id_number=household_data()["id_number"],
                         heated_area="100", original_facility="土暖气", heating_path="煤改气", state="已选型")
            for i in range(3)]
    result = ledger_import.analyse(write_sheet(tmp_path / "gas.xlsx", TEMPLATE_HEADER, rows), user=clerk,
                                   filename="gas.xlsx")
    assert [r.action for r in result.results] == ["new", "new", "refused"]
    assert "缺口" in result.problems()[0] and result.problems()[0].startswith("第4行")

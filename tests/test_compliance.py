import pytest
from python_calamine import CalamineWorkbook

from cleanheat.ledger.choices import LifecycleState
from cleanheat.ledger.models import Household
from cleanheat.rules import compliance
from cleanheat.rules.models import GasContract, HeatSource

from .conftest import make_user

pytestmark = pytest.mark.django_db


def by_rule(findings, rule, severity="breach"):
    return {f.household_no for f in findings if f.rule == rule and f.severity == severity}


def test_the_demo_has_breaches_of_every_rule_and_the_scan_finds_exactly_them():
    findings = compliance.scan("1409")
    for rule in compliance.RULES:
        assert by_rule(findings, rule) or by_rule(findings, rule, "warning"), rule
    removed_without_consent = set(Household.objects.filter(state=LifecycleState.REMOVED, removal_consent_on__isnull=True,
                                                           archived=False).values_list("household_no", flat=True))
    assert removed_without_consent <= by_rule(findings, "removal")
    contract = GasContract.objects.filter(safety_passed=True).first()
    contract.safety_passed = False
    contract.save()
    no_safety = set(Household.objects.filter(village__code__in=[v.code for v in contract.villages.all()],
                                             heating_path="gas", archived=False)
                    .exclude(state="confirmed").values_list("household_no", flat=True))
    assert no_safety and no_safety <= by_rule(compliance.scan("1409"), "gas")
    low_gain = set(Household.objects.filter(envelope_retrofitted=True, envelope_gain_pct__lt=30, archived=False)
                   .values_list("household_no", flat=True))
    assert by_rule(findings, "retrofit") == low_gain
    from cleanheat.procurement.models import Advice
    assert by_rule(findings, "sizing", "warning") == set(Advice.objects.filter(undersized=True, household__archived=False)
                                              .values_list("household__household_no", flat=True))


def test_a_source_whose_grade_drops_flags_every_household_depending_on_it():
    source = HeatSource.objects.filter(kind="waste_heat", grade="A").first()
    dependents = set(Household.objects.filter(heat_source=source, archived=False,
                                              state__in=["installed", "accepted", "proven", "removed"])
                     .values_list("household_no", flat=True))
    assert dependents and not dependents & by_rule(compliance.scan("1409"), "heat_source")
    source.grade = "C"
    source.save()
    assert dependents <= by_rule(compliance.scan("1409"), "heat_source")


def test_a_contract_filling_up_warns_before_it_breaches():
    contract = GasContract.objects.filter(safety_passed=True).first()
    covered = [v.code for v in contract.villages.all()]
    findings = compliance.scan("1409")
    households = set(Household.objects.filter(village__code__in=covered, heating_path="gas", archived=False)
                     .exclude(state="confirmed").values_list("household_no", flat=True))
    assert not households & by_rule(findings, "gas", "warning")
    contract.season_volume_m3 = int(contract.season_volume_m3 / 1.15 * 1.05)  # 95 % used
    contract.save()
    assert households <= by_rule(compliance.scan("1409"), "gas", "warning")


def test_compliance_page_counts_drills_down_exports_and_keeps_to_scope(client, tmp_path):
    client.force_login(make_user("comp_city", "1409", role="city_admin"))
    page = client.get("/compliance/").content.decode()
    assert "先立后破" in page and "以气定改" in page and 'id="compliance-summary"' in page
    detail = client.get("/compliance/140900000000/", {"rule": "gas", "severity": "breach"}).content.decode()
    no = next(iter(by_rule(compliance.scan("1409"), "gas")))
    assert f"/households/{no}/" in detail
    response = client.get("/compliance/140900000000/export.xlsx")
    path = tmp_path / "c.xlsx"
    path.write_bytes(b"".join(response.streaming_content))
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    assert len(rows) - 1 == len(compliance.scan("1409")) and rows[0][0] == "规则"
    client.force_login(make_user("comp_county", "140902", role="county_clerk"))
    assert client.get("/compliance/140900000000/").status_code == 404
    assert client.get("/compliance/").status_code == 200


def test_registers_show_sources_and_contract_use(client):
    client.force_login(make_user("reg_city", "1409", role="inspector"))
    page = client.get("/registers/").content.decode()
    assert "某焦化厂余热（演示，绩效降为B-）" in page and 'id="gas-contracts"' in page
    contract = GasContract.objects.first()
    assert contract.name in page

"""Issue 14 part 2: region changes over time (撤乡并镇). An administrator records a change with its
effective date; households move with it and their history says so; rollups and progress for a date
before the change still add up; old codes and names in an imported sheet are read as the new ones."""
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from cleanheat.imports import ledger_import
from cleanheat.ledger import services
from cleanheat.ledger.models import Household
from cleanheat.ledger.rollup import region_rollup
from cleanheat.plan import services as plan_services
from cleanheat.plan.models import CountyPlan, PlanChange, TownshipTarget
from cleanheat.plan.progress import counts_on
from cleanheat.procurement.models import Advice, GridCapacity
from cleanheat.regions import codes
from cleanheat.regions import services as regions
from cleanheat.regions.models import Region, RegionAlias, RegionChange
from cleanheat.subsidies.models import Declaration

from .conftest import make_user
from .factories import new_id_number
from .sheets import TEMPLATE_HEADER, template_row, write_sheet

pytestmark = pytest.mark.django_db
COUNTY = "140902"


def townships_with_households(n=2):
    """The first n townships of the county that have households."""
    found = []
    for township in Region.objects.filter(level=codes.TOWNSHIP, code__startswith=COUNTY).order_by("code"):
        if Household.objects.filter(village__code__startswith=township.prefix, archived=False).exists():
            found.append(township)
        if len(found) == n:
            return found
    raise AssertionError("the demo has too few townships with households")


def totals(counts: dict) -> dict:
    return {unit: sum(by.values()) for unit, by in counts.items()}


def flat(counts: dict) -> dict:
    out = {}
    for by in counts.values():
        for key, n in by.items():
            out[key] = out.get(key, 0) + n
    return out


@pytest.fixture
def admin():
    return make_user("rc_admin", "1409", role="city_admin")


def merge(a, b, admin, on=None, name="新合并镇"):
    return regions.record_change(kind="merge", effective_on=on or timezone.localdate(), from_codes=[a.code, b.code],
                                 to_code=a.code, to_name=name, note="忻政函〔2026〕1号", user=admin)


def test_a_merge_moves_households_with_history_and_rollups_still_add_up(admin):
    a, b = townships_with_households()
    past = timezone.localdate() - timedelta(days=1)
    before = {"city": flat(counts_on("1409", 4, past)), "county": flat(counts_on(COUNTY, 6, past)),
              "townships": totals(counts_on(COUNTY, 9, past)), "today": totals(counts_on(COUNTY, 9))}
    in_b = list(Household.objects.filter(village__code__startswith=b.prefix).order_by("pk"))
    b_villages = list(Region.objects.filter(parent=b).values_list("code", flat=True))
    change = merge(a, b, admin)
    summary = services.apply_region_change(change, user=admin)
    assert summary["households"] == len(in_b) and summary["villages"] == len(b_villages)
    # the county and the city for a date before the change: unchanged; the merged township = A + B
    assert flat(counts_on("1409", 4, past)) == before["city"]
    assert flat(counts_on(COUNTY, 6, past)) == before["county"]
    after = totals(counts_on(COUNTY, 9, past))
    assert after[a.prefix] == before["townships"][a.prefix] + before["townships"][b.prefix]
    assert b.prefix not in after
    assert totals(counts_on(COUNTY, 9))[a.prefix] == before["today"][a.prefix] + before["today"][b.prefix]
    # the county page lists the merged township under its new name, and not B
    rollup = region_rollup(Region.objects.get(code=codes.full_code(COUNTY)))
    listed = {row["region"].code: row for row in rollup["children"]}
    assert b.code not in listed and listed[a.code]["region"].name == "新合并镇"
    assert listed[a.code]["total"] == before["today"][a.prefix] + before["today"][b.prefix]
    # households moved to codes under A, their history says why; B and its villages are retired, not deleted
    household = Household.objects.get(pk=in_b[0].pk)
    assert household.village_id.startswith(a.prefix) and household.village_id[9:] == in_b[0].village_id[9:] \
        or household.village_id.startswith(a.prefix)
    line = household.changes.get(field="village")
    assert (line.old_value, line.new_value) == (in_b[0].village_id, household.village_id)
    assert "区划调整" in line.source and "忻政函〔2026〕1号" in line.source
    assert household.version == in_b[0].version + 1
    retired = Region.all_objects.get(code=b.code)
    assert retired.retired_on == timezone.localdate() and retired.successor_id == a.code
    assert not Region.objects.filter(code__in=b_villages).exists()
    assert Region.all_objects.filter(code__in=b_villages, retired_on__isnull=False).count() == len(b_villages)
    assert RegionAlias.objects.filter(change=change).count() == len(b_villages) + 2  # villages, B, A's old name


def test_a_merge_carries_the_townships_targets_so_the_county_breakdown_still_adds_up(admin):
    a, b = townships_with_households()
    county_plan = CountyPlan.objects.filter(county_code=COUNTY).order_by("plan__year").first()  # 2022: households
    plan_services.set_township_targets(county_plan, {}, user=make_user("rc_county", COUNTY, role="county_admin"))
    before = plan_services.township_breakdown(county_plan)
    assert before[b.prefix] and any(before[b.prefix].values())  # B has something to carry
    services.apply_region_change(merge(a, b, admin), user=admin)
    after = plan_services.township_breakdown(county_plan)
    assert b.prefix not in after
    for path in {*before[a.prefix], *before[b.prefix]}:
        assert after[a.prefix][path] == before[a.prefix].get(path, 0) + before[b.prefix].get(path, 0)
        assert sum(t.get(path, 0) for t in after.values()) == sum(t.get(path, 0) for t in before.values())
    assert not TownshipTarget.objects.filter(township_code=b.prefix).exists()
    carried = PlanChange.objects.filter(what__contains=f"并入 {b.prefix}")
    assert carried.exists() and all("忻政函〔2026〕1号" in c.reason for c in carried)


def test_records_kept_by_village_code_follow_their_households(admin):
    a, b = townships_with_households()
    household = Household.objects.filter(village__code__startswith=b.prefix).first()
    old = household.village_id
    Advice.objects.update_or_create(household=household, defaults={"village_code": old, "computed_at": timezone.now()})
    GridCapacity.objects.update_or_create(village_id=old, defaults={"spare_kw": 120, "as_of": timezone.localdate()})
    declaration = Declaration.objects.create(household=household, village_code=old, year=2022, invoice_no="FP-1",
                                             purchase_fen=100, installer="安装队", installed_on=timezone.localdate())
    services.apply_region_change(merge(a, b, admin), user=admin)
    new = Household.objects.get(pk=household.pk).village_id
    assert new != old and new.startswith(a.prefix)
    assert Advice.objects.get(household=household).village_code == new
    assert GridCapacity.objects.get(village_id=new).spare_kw == 120
    assert Declaration.objects.get(pk=declaration.pk).village_code == new


def test_moved_village_codes_keep_their_digits_when_free_and_the_kind_rule():
    taken = {"140902101201", "140902101202"}
    assert regions._free_code("140902101000", "140902102203", taken) == "140902101203"
    assert regions._free_code("140902101000", "140902102201", taken) == "140902101200"
    assert regions._free_code("140902101000", "140902102001", taken) == "140902101001"


def test_a_change_is_checked_before_it_is_recorded(admin):
    a, b = townships_with_households()
    other = Region.objects.filter(level=codes.TOWNSHIP, code__startswith="140981").first()
    with pytest.raises(ValidationError, match="合并的乡镇须在同一县"):
        regions.record_change(kind="merge", effective_on=timezone.localdate(), from_codes=[a.code, other.code],
                              to_code=a.code, user=admin)
    with pytest.raises(ValidationError, match="不是现行的乡级区划代码"):
        regions.record_change(kind="merge", effective_on=timezone.localdate(), from_codes=[a.code, "140902999000"],
                              to_code=a.code, user=admin)
    clerk = make_user("rc_county", "140981", role="county_admin")
    with pytest.raises(ValidationError, match="不在您的管辖范围内"):
        merge(a, b, clerk)
    change = merge(a, b, admin)
    services.apply_region_change(change, user=admin)
    with pytest.raises(ValidationError, match="已实施"):
        services.apply_region_change(change, user=admin)


def test_a_split_creates_a_township_and_moves_villages(admin):
    (a,) = townships_with_households(1)
    villages = list(Region.objects.filter(parent=a).order_by("code")[:2])
    households = Household.objects.filter(village__in=villages).count()
    new_code = a.code[:6] + "990000"
    change = regions.record_change(kind="split", effective_on=timezone.localdate(), from_codes=[a.code],
                                   villages=[v.code for v in villages], to_code=new_code, to_name="新设乡", user=admin)
    summary = services.apply_region_change(change, user=admin)
    assert summary["households"] == households
    new = Region.objects.get(code=new_code)
    assert (new.name, new.parent_id, new.level) == ("新设乡", codes.full_code(COUNTY), codes.TOWNSHIP)
    assert sorted(r.name for r in new.children.all()) == sorted(v.name for v in villages)
    assert Household.objects.filter(village__code__startswith=new_code[:9]).count() == households
    assert Region.objects.filter(code=a.code).exists()  # A itself stays, with its other villages


def test_a_rename_keeps_the_code_and_old_names_still_import(admin, tmp_path):
    a, _ = townships_with_households()
    village = Region.objects.filter(parent=a).order_by("code").first()
    old = village.name
    change = regions.record_change(kind="rename", effective_on=timezone.localdate(), from_codes=[village.code],
                                   to_name="幸福村", user=admin)
    services.apply_region_change(change, user=admin)
    assert Region.objects.get(code=village.code).name == "幸福村"
    clerk = make_user("rc_clerk", COUNTY, role="county_clerk")
    row = template_row(county=Region.objects.get(code=codes.full_code(COUNTY)).name, township=a.name, village=old,
                       householder_name="旧名村民", id_number=new_id_number(COUNTY), heated_area="80",
                       original_facility="土暖气", heating_path="集中供热")
    path = write_sheet(tmp_path / "旧村名.xlsx", TEMPLATE_HEADER, [row])
    (res,) = ledger_import.analyse(path, user=clerk, filename=path.name).results
    assert res.action == "new" and res.household.village_id == village.code
    assert any("区划已调整" in note and old in note for note in res.notes)


@pytest.mark.parametrize("by_row", [False, True])
def test_old_codes_and_names_in_a_sheet_map_to_the_new_ones_with_a_note(admin, tmp_path, by_row):
    a, b = townships_with_households()
    old_village = Region.objects.filter(parent=b).order_by("code").first()
    existing = Household.objects.filter(village=old_village, archived=False).order_by("pk").first()
    services.apply_region_change(merge(a, b, admin), user=admin)
    new_code = Region.all_objects.get(code=old_village.code).successor_id
    clerk = make_user("rc_clerk2", COUNTY, role="county_clerk")
    county = Region.objects.get(code=codes.full_code(COUNTY)).name
    rows = [template_row(village_code=old_village.code, householder_name="旧代码村民", id_number=new_id_number(COUNTY),
                         heated_area="80", original_facility="土暖气", heating_path="集中供热"),
            template_row(county=county, township=b.name, village=old_village.name, householder_name="旧乡名村民",
                         id_number=new_id_number(COUNTY), heated_area="81", original_facility="土暖气",
                         heating_path="集中供热"),
            template_row(household_no=existing.household_no, village_code=old_village.code)]
    result = ledger_import.analyse(write_sheet(tmp_path / "旧代码.xlsx", TEMPLATE_HEADER, rows), user=clerk,
                                   filename="旧代码.xlsx", by_row=by_row)
    first, second, third = result.results
    assert (first.action, second.action, third.action) == ("new", "new", "unchanged")
    assert first.household.village_id == second.household.village_id == new_code
    notes = result.notes()
    assert any(line.startswith("第2行") and f"{old_village.code}" in line and new_code in line for line in notes)
    assert any(line.startswith("第3行") and "区划已调整" in line for line in notes)
    # a village that stayed in A, named with A's old name
    stayed = Region.objects.filter(parent_id=a.code).exclude(code__in=Region.all_objects.filter(
        retired_on__isnull=False).values_list("successor_id", flat=True)).order_by("code").first()
    row = template_row(county=county, township=a.name, village=stayed.name, householder_name="原乡名村民",
                       id_number=new_id_number(COUNTY), heated_area="82", original_facility="土暖气",
                       heating_path="集中供热")
    (res,) = ledger_import.analyse(write_sheet(tmp_path / "原乡名.xlsx", TEMPLATE_HEADER, [row]), user=clerk,
                                   filename="原乡名.xlsx", by_row=by_row).results
    assert res.action == "new" and res.household.village_id == stayed.code and "区划已调整" in res.notes[0]
    ledger_import.commit(result, user=clerk)
    assert Household.objects.filter(householder_name__in=["旧代码村民", "旧乡名村民"], village_id=new_code).count() == 2


def test_the_page_previews_counts_then_applies(client, admin):
    a, b = townships_with_households()
    households = Household.objects.filter(village__code__startswith=b.prefix).count()
    make_user("rc_town_b", b.prefix, role="township_clerk")
    client.force_login(admin)
    response = client.post("/regions/changes/", {"kind": "merge", "effective_on": timezone.localdate().isoformat(),
                                                  "from_codes": f"{a.code}、{b.code}", "to_code": a.code,
                                                  "to_name": "页面合并镇", "note": "文件"})
    change = RegionChange.objects.get()
    assert response.status_code == 302 and response.url == f"/regions/changes/{change.pk}/"
    page = client.get(response.url).content.decode()
    assert f"将调整{households}户" in page and f"撤销 {b.name}（{b.code}），并入" in page
    assert f"rc_town_b（{b.prefix}）" in page  # told whose scope the change retires
    assert Household.objects.filter(village__code__startswith=a.prefix).count() != 0
    response = client.post(f"/regions/changes/{change.pk}/apply/")
    assert response.status_code == 302
    page = client.get(f"/regions/changes/{change.pk}/").content.decode()
    assert "已实施" in page and f"{households}户" in page
    county_page = client.get(f"/regions/{codes.full_code(COUNTY)}/").content.decode()
    assert "页面合并镇" in county_page and "区划调整" in county_page and "按现行区划汇总" in county_page
    clerk = make_user("rc_clerk3", COUNTY, role="county_clerk")
    client.force_login(clerk)
    assert client.get("/regions/changes/").status_code == 403


def test_a_retired_regions_old_address_opens_its_successor(client, admin):
    a, b = townships_with_households()
    services.apply_region_change(merge(a, b, admin), user=admin)
    client.force_login(admin)
    response = client.get(f"/regions/{b.code}/", follow=True)
    assert response.redirect_chain == [(f"/regions/{a.code}/", 302)]
    assert f"{b.code} 已因区划调整并入 新合并镇" in response.content.decode()
    outsider = make_user("rc_other_county", "140921", role="county_clerk")
    client.force_login(outsider)
    assert client.get(f"/regions/{b.code}/").status_code == 404  # out of scope, as the successor is

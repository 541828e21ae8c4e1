"""Issue #18 part 1: the city edits the checklists on a page (add, remove, reorder, change items);
saving writes a new version through the same door as the data file's loader, records already filled
keep their version, bad edits are refused with nothing saved, and only roles with CHECKLISTS may."""
import json
import re

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from cleanheat.inspections import loader, versions
from cleanheat.inspections.models import Checklist

from .conftest import make_user
from .factories import accept
from .test_inspections import installed

pytestmark = pytest.mark.django_db
URL = "/inspections/checklists/electric/acceptance/"


@pytest.fixture
def city(client):
    user = make_user("cl_city", "1409", role="city_admin")
    client.force_login(user)
    return client


def form_of(checklist) -> dict:
    """The editing form as the page fills it for a version (what a browser would post unchanged)."""
    data = {"rows": str(checklist.items.count()), "title": checklist.title, "based_on": str(checklist.version)}
    for n, item in enumerate(checklist.items.all()):
        data.update({f"items-{n}-code": item.code, f"items-{n}-text": item.text, f"items-{n}-type": item.item_type,
                     f"items-{n}-expected": "yes" if item.expected else "no", f"items-{n}-severity": item.severity,
                     f"items-{n}-min": "" if item.minimum is None else str(item.minimum),
                     f"items-{n}-max": "" if item.maximum is None else str(item.maximum),
                     f"items-{n}-valid_min": "" if item.valid_min is None else str(item.valid_min),
                     f"items-{n}-valid_max": "" if item.valid_max is None else str(item.valid_max),
                     f"items-{n}-unit": item.unit})
        if item.required:
            data[f"items-{n}-required"] = "on"
    return data


def row_of(data: dict, code: str) -> int:
    return next(int(k.split("-")[1]) for k, v in data.items() if k.endswith("-code") and v == code)


def test_the_page_shows_the_current_version_and_its_items(city):
    current = loader.current_checklist("electric", "acceptance")
    page = city.get(URL).content.decode()
    assert f"当前第{current.version}版" in page
    items = list(current.items.all())
    assert items and all(item.text in page for item in items)
    assert "版本历史" in page and "初始版本" in page
    index = city.get("/inspections/checklists/").content.decode()
    assert URL in index and "/inspections/checklists/gas/joint/" in index


def test_saving_an_edit_writes_a_new_version_and_records_already_filled_keep_theirs(city):
    clerk = make_user("cl_clerk", "140902", role="county_clerk")
    old = loader.current_checklist("electric", "acceptance")
    record = accept(installed(clerk), user=clerk)
    assert record.checklist == old
    data = form_of(old)
    temp = row_of(data, "indoor_temp")
    data[f"items-{temp}-min"] = "16"                        # 18 °C → 16 °C
    data[f"items-{row_of(data, 'remark')}-required"] = "on"  # the free text becomes required
    page = city.post(URL, {**data, "op": "save"}, follow=True).content.decode()
    assert f"已保存为第{old.version + 1}版" in page
    new = loader.current_checklist("electric", "acceptance")
    assert new.version == old.version + 1 and new.created_by.username == "cl_city"
    assert new.items.get(code="indoor_temp").minimum == 16 and new.items.get(code="remark").required
    record.refresh_from_db()
    assert record.checklist == old and record.checklist.items.get(code="indoor_temp").minimum == 18
    assert "修改：当日室内温度（合格下限 18→16）" in page and "cl_city" in page   # the history: what, who
    with pytest.raises(ValidationError, match="请填写“其他情况”"):   # a new record is filled on the new version
        accept(installed(clerk), user=clerk)
    assert accept(installed(clerk), user=clerk, remark="无").checklist == new


def test_items_are_added_moved_and_removed_on_the_page_and_saved_in_that_order(city):
    old = loader.current_checklist("electric", "acceptance")
    codes = list(old.items.values_list("code", flat=True))
    data = form_of(old)
    # htmx: move the second item up, then add one; nothing is saved meanwhile
    moved = city.post(URL, {**data, "op": "up-1"}, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="checklist-editor"' in moved and "<html" not in moved   # the form alone
    assert re.findall(r'data-code="(\w+)"', moved)[:2] == [codes[1], codes[0]]
    added = city.post(URL, {**data, "op": "add"}, HTTP_HX_REQUEST="true").content.decode()
    new_code = re.findall(r'data-code="(\w+)"', added)[-1]
    assert new_code not in codes and Checklist.objects.filter(heating_path="electric", kind="acceptance") \
        .count() == old.version
    data = {**data, "rows": str(len(codes) + 1), f"items-{len(codes)}-code": new_code,
            f"items-{len(codes)}-text": "室内温度计读数照片", f"items-{len(codes)}-type": "photo",
            f"items-{len(codes)}-severity": "normal", f"items-{len(codes)}-required": "on"}
    first = {k.replace("items-0-", "items-X-"): v for k, v in data.items() if k.startswith("items-0-")}
    second = {k.replace("items-1-", "items-0-"): v for k, v in data.items() if k.startswith("items-1-")}
    data = {**{k: v for k, v in data.items() if not k.startswith(("items-0-", "items-1-"))}, **second,
            **{k.replace("items-X-", "items-1-"): v for k, v in first.items()}}
    remark = row_of(data, "remark")
    data = city.post(URL, {**data, "op": f"remove-{remark}"}, HTTP_HX_REQUEST="true").context["rows"]
    posted = {"rows": str(len(data)), "title": old.title, "based_on": str(old.version), "op": "save"}
    for n, row in enumerate(data):
        posted.update({f"items-{n}-{k}": v for k, v in row.items() if k != "required"})
        if row["required"]:
            posted[f"items-{n}-required"] = "on"
    city.post(URL, posted)
    new = loader.current_checklist("electric", "acceptance")
    assert list(new.items.values_list("code", flat=True)) == \
        [codes[1], codes[0], *[c for c in codes[2:] if c != "remark"], new_code]
    assert new.items.get(code=new_code).item_type == "photo"
    history = city.get(URL).content.decode()
    assert "新增：室内温度计读数照片" in history and "删除：其他情况" in history and "调整了检查项顺序" in history


@pytest.mark.parametrize("change,message", [
    ({"min": "20", "max": "10"}, "合格下限20不能大于合格上限10"),
    ({"text": "  "}, "第3项：检查内容不能为空"),
    ({"text": "设备铭牌照片"}, "第3项与第2项的检查内容“设备铭牌照片”重复"),
    ({"min": "abc"}, "合格下限应为数字，而不是“abc”"),
    ({"min": "60"}, "合格下限60不在可填写的范围（-30～40）之内"),
])
def test_bad_edits_are_refused_with_a_clear_message_and_nothing_saved(city, change, message):
    old = loader.current_checklist("electric", "acceptance")
    before = (Checklist.objects.count(), list(old.items.values_list("code", "text", "minimum", "maximum")))
    data = form_of(old)
    temp = row_of(data, "indoor_temp")
    data.update({f"items-{temp}-{k}": v for k, v in change.items()})   # the third item, 当日室内温度
    response = city.post(URL, {**data, "op": "save"})
    assert response.status_code == 422
    assert message in response.content.decode() and "未保存" in response.content.decode()
    assert (Checklist.objects.count(), list(old.items.values_list("code", "text", "minimum", "maximum"))) == before


def test_an_edit_started_on_an_older_version_is_refused(city):
    old = loader.current_checklist("electric", "acceptance")
    data = form_of(old)
    versions.save_version("electric", "acceptance", [{**i.spec(), "text": i.text + "（新）"} for i in old.items.all()],
                          user=None)
    response = city.post(URL, {**data, f"items-{row_of(data, 'indoor_temp')}-min": "17", "op": "save"})
    assert response.status_code == 422 and f"已有更新的版本（第{old.version + 1}版" in response.content.decode()
    assert loader.current_checklist("electric", "acceptance").version == old.version + 1


def test_saving_unchanged_items_writes_no_version(city):
    old = loader.current_checklist("electric", "acceptance")
    page = city.post(URL, {**form_of(old), "op": "save"}, follow=True).content.decode()
    assert "检查项没有变化，未生成新版本" in page
    assert loader.current_checklist("electric", "acceptance") == old


def test_the_data_file_goes_through_the_same_checks(tmp_path):
    spec = loader.read_checklists()
    spec["checklists"][0]["items"][2]["max"] = 10    # 煤改电 indoor temperature: min 18 > max 10
    before = Checklist.objects.count()
    with pytest.raises(ValidationError, match=r"煤改电检查清单（electric，acceptance）第3项“当日室内温度”："
                                              r"合格下限18不能大于合格上限10"):
        loader.load_checklists(spec)
    assert Checklist.objects.count() == before
    path = tmp_path / "checklists.json"
    path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(CommandError, match="检查清单未加载：\n煤改电检查清单（electric，acceptance）第3项"):
        call_command("load_checklists", str(path))
    assert Checklist.objects.count() == before


@pytest.mark.parametrize("role,scope", [("county_clerk", "140902"), ("county_admin", "140902"),
                                        ("city_viewer", "1409"), ("field_inspector", "140902")])
def test_only_roles_that_edit_checklists_may_open_or_save(client, role, scope):
    client.force_login(make_user(f"cl_{role}", scope, role=role))
    old = loader.current_checklist("electric", "acceptance")
    assert client.get("/inspections/checklists/").status_code == 403
    assert client.get(URL).status_code == 403
    data = form_of(old)
    data[f"items-{row_of(data, 'indoor_temp')}-min"] = "10"
    assert client.post(URL, {**data, "op": "save"}).status_code == 403
    assert loader.current_checklist("electric", "acceptance") == old
    assert 'data-nav="checklists"' not in client.get("/households/").content.decode()


def test_the_city_finds_the_page_in_its_menu_and_unknown_checklists_are_not_found(city):
    assert 'data-nav="checklists"' in city.get("/households/").content.decode()
    assert city.get("/inspections/checklists/nuclear/acceptance/").status_code == 404
    assert city.get("/inspections/checklists/electric/party/").status_code == 404

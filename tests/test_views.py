import re

import pytest
from django.urls import reverse

from cleanheat.ledger import records, services
from cleanheat.ledger.models import Household
from cleanheat.regions import codes
from cleanheat.regions.models import Region

from .factories import household_data

pytestmark = pytest.mark.django_db


def text(response):
    return response.content.decode()


def test_anonymous_users_are_sent_to_login(client):
    response = client.get("/households/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")
    assert "登录" in text(client.get("/accounts/login/"))


def test_login_with_password_reaches_the_city_page(client, city_admin):
    from tests.conftest import PASSWORD
    response = client.post("/accounts/login/", {"username": "t_city", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/regions/140900000000/"
    assert "忻州市" in text(response) and "忻府区" in text(response)


def test_region_pages_show_rollups_and_link_children_down_to_households(admin_client):
    latest = Household.objects.order_by("-plan_year").values_list("plan_year", flat=True).first()
    total = Household.objects.filter(archived=False, plan_year=latest).count()  # the latest plan's, by default
    page = text(admin_client.get("/regions/140900000000/"))
    assert f'id="node-total">{total:,}<' in page
    every = Household.objects.filter(archived=False).count()
    assert f'id="node-total">{every:,}<' in text(admin_client.get("/regions/140900000000/?year=all"))
    county = Region.objects.get(code="140902000000")
    township = county.children.first()
    village = township.children.first()
    assert f'href="/regions/{county.code}/"' in page
    assert f'href="/regions/{township.code}/"' in text(admin_client.get(f"/regions/{county.code}/"))
    assert f'href="/regions/{village.code}/"' in text(admin_client.get(f"/regions/{township.code}/"))
    village_page = text(admin_client.get(f"/regions/{village.code}/"))
    for h in Household.objects.filter(village=village, archived=False)[:3]:
        assert f'href="/households/{h.household_no}/"' in village_page
    assert admin_client.get("/regions/999999999999/").status_code == 404


def test_list_filters_and_searches(admin_client, city_admin):
    data = household_data(householder_name="欧阳测试", phone="13512340000", heating_path="gas")
    h = services.create_household(data, user=city_admin)
    for q in ("欧阳测试", data["id_number"], "13512340000", h.household_no):
        page = text(admin_client.get("/households/", {"q": q}, follow=True))  # ID, phone: via a token
        assert h.household_no in page, q
        assert "共 1 户" in page, q
    assert h.household_no in text(admin_client.get("/households/", {"region": h.village_id, "path": "gas", "state": "confirmed"}))
    assert h.household_no not in text(admin_client.get("/households/", {"q": "欧阳测试", "path": "electric"}))
    # the results show the mask, never the full number
    results = text(admin_client.get("/households/", {"q": data["id_number"]}, follow=True)).split("<table")[1]
    assert h.id_number_masked in results and data["id_number"] not in results


def test_list_is_paginated(admin_client):
    total = Household.objects.filter(archived=False).count()
    page = text(admin_client.get("/households/", {"page": 2}))
    assert f"第 2 / {-(-total // 50)} 页" in page
    assert len(re.findall(r'href="/households/\d{13}/"', page)) == 50


def test_flag_filter(admin_client):
    n = Household.objects.filter(archived=False, is_dibao=True).count()
    assert f"共 {n:,} 户" in text(admin_client.get("/households/", {"flag": "is_dibao"}))


def test_create_form_shows_chinese_errors_next_to_fields_then_saves(admin_client):
    data = household_data()
    bad = {**data, "id_number": data["id_number"][:-1] + ("0" if data["id_number"][-1] != "0" else "1"),
           "heated_area": "很大"}
    response = admin_client.post("/households/new/", bad)
    page = text(response)
    assert response.status_code == 200
    assert 'id="error-id_number"' in page and "校验位不正确" in page
    assert 'id="error-heated_area"' in page and "应为数字" in page
    response = admin_client.post("/households/new/", data)
    h = Household.objects.get(householder_name=data["householder_name"], village_id=data["village"],
                              id_number_masked=data["id_number"][:6] + "********" + data["id_number"][-4:])
    assert response.url == f"/households/{h.household_no}/"


def test_detail_page_shows_six_groups_lifecycle_and_history(admin_client, city_admin):
    h = services.create_household(household_data(), user=city_admin)
    admin_client.post(f"/households/{h.household_no}/edit/", {**_form_values(h), "heated_area": "150"})
    admin_client.post(f"/households/{h.household_no}/transition/", {"to_state": "selected"})
    page = text(admin_client.get(f"/households/{h.household_no}/"))
    for heading in ("居民信息", "房屋", "取暖路径", "设备", "用能需求", "补贴", "运行维护", "改造进度", "变更记录"):
        assert f"<h2>{heading}</h2>" in page
    assert "已选型" in page and "150.0" in page and "网页" in page


def _form_values(h):
    values = {f: getattr(h, f) for f in services.EDITABLE_FIELDS if f not in records.PII_FIELDS}
    values["village"] = h.village_id
    return {k: v for k, v in values.items() if v not in (False, None)}


def test_skipping_a_state_in_the_ui_is_refused_with_a_message(admin_client, city_admin):
    h = services.create_household(household_data(), user=city_admin)
    response = admin_client.post(f"/households/{h.household_no}/transition/", {"to_state": "accepted"}, follow=True)
    assert "不能跳过状态" in text(response)
    h.refresh_from_db()
    assert h.state == "confirmed"


def test_archive_and_restore_from_the_page(admin_client, city_admin):
    h = services.create_household(household_data(), user=city_admin)
    admin_client.post(f"/households/{h.household_no}/archive/", {"reason": "已搬迁"})
    assert "本户已归档" in text(admin_client.get(f"/households/{h.household_no}/"))
    assert h.household_no in text(admin_client.get("/households/", {"archived": "1", "q": h.household_no}))
    admin_client.post(f"/households/{h.household_no}/restore/", {"reason": "误操作"})
    h.refresh_from_db()
    assert not h.archived


def test_county_clerk_sees_only_their_county(client, county_clerk):
    client.force_login(county_clerk)
    assert client.get("/").url == "/regions/140902000000/"
    assert client.get("/regions/140900000000/").status_code == 404
    other = Household.objects.filter(village__code__startswith="140981").first()
    assert client.get(f"/households/{other.household_no}/").status_code == 404
    assert "共 0 户" in text(client.get("/households/", {"q": other.household_no}))


def test_village_picker_lists_villages_of_the_county(admin_client):
    page = text(admin_client.get(reverse("village_picker"), {"county": "140921"}))
    villages = Region.objects.filter(level=codes.VILLAGE, code__startswith="140921")
    assert page.count("<option value=\"1409") == villages.count()


def test_english_is_available_and_chinese_is_the_default(admin_client):
    assert "居民用户" in text(admin_client.get("/households/", HTTP_ACCEPT_LANGUAGE="en"))
    admin_client.post("/i18n/setlang/", {"language": "en", "next": "/households/"})
    page = text(admin_client.get("/households/"))
    assert "Households" in page and "Heating path" in page

import json

import pytest

from cleanheat.ledger.models import Household, HouseholdChange
from cleanheat.ledger.rollup import region_rollup
from cleanheat.regions.models import Region

from .factories import household_data

pytestmark = pytest.mark.django_db


def post(client, url, payload, method="post"):
    return getattr(client, method)(url, json.dumps(payload), content_type="application/json")


def test_api_requires_login(client):
    assert client.get("/api/households").status_code == 401
    assert client.get("/api/regions").status_code == 401


def test_openapi_docs_and_schema(admin_client):
    assert admin_client.get("/api/docs").status_code == 200
    schema = admin_client.get("/api/openapi.json").json()
    assert {"/api/households", "/api/households/{household_no}/transition",
            "/api/regions/{code}/rollup"} <= set(schema["paths"])


def test_regions_and_rollup_match_the_ui_computation(admin_client):
    top = admin_client.get("/api/regions").json()
    assert [r["code"] for r in top] == ["140900000000"]
    counties = admin_client.get("/api/regions", {"parent": "140900000000"}).json()
    assert len(counties) == 15
    data = admin_client.get("/api/regions/140902000000/rollup", {"year": "all"}).json()  # every plan year
    expected = region_rollup(Region.objects.get(code="140902000000"))
    assert data["total"] == expected["node"]["total"] == Household.objects.filter(
        archived=False, village__code__startswith="140902").count()
    assert sum(c["total"] for c in data["children"]) == data["total"]


def test_list_filters_paginate_and_mask(admin_client):
    n = Household.objects.filter(archived=False, heating_path="gas").count()
    body = admin_client.get("/api/households", {"path": "gas"}).json()
    assert body["count"] == n and len(body["items"]) == min(n, 50)
    item = body["items"][0]
    assert "********" in item["id_number"] and item["heating_path"] == "gas"


def test_create_update_transition_archive_through_the_api(admin_client):
    data = household_data(phone="13700001234")
    response = post(admin_client, "/api/households", data)
    assert response.status_code == 201, response.content
    no = response.json()["household_no"]
    assert response.json()["phone"] == "137****1234"

    response = post(admin_client, f"/api/households/{no}", {"heated_area": 130}, method="patch")
    assert response.json()["heated_area"] == 130.0
    line = HouseholdChange.objects.get(household__household_no=no, field="heated_area")
    assert line.channel == "api" and line.new_value == "130.0"

    response = post(admin_client, f"/api/households/{no}/transition", {"to_state": "installed"})
    assert response.status_code == 422 and "不能跳过状态" in response.json()["errors"]["to_state"][0]
    assert post(admin_client, f"/api/households/{no}/transition", {"to_state": "selected"}).json()["state"] == "selected"
    assert post(admin_client, f"/api/households/{no}/archive", {"reason": "重复"}).json()["archived"] is True


def test_invalid_create_answers_422_in_chinese_and_writes_nothing(admin_client):
    before = Household.objects.count()
    response = post(admin_client, "/api/households", household_data(id_number="123", household_size=99))
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert "身份证号" in errors["id_number"][0] and "家庭人口" in errors["household_size"][0]
    assert Household.objects.count() == before


def test_other_county_is_not_found_through_the_api(client, county_clerk):
    client.force_login(county_clerk)
    other = Household.objects.filter(village__code__startswith="140981").first()
    assert client.get(f"/api/households/{other.household_no}").status_code == 404
    assert client.get("/api/regions/140981000000/rollup").status_code == 404
    assert post(client, f"/api/households/{other.household_no}", {"address": "x"}, method="patch").status_code == 404
    items = client.get("/api/households").json()["items"]
    assert items and all(h["village"].startswith("140902") for h in items)


def test_patch_with_null_clears_a_field_that_may_be_empty_and_refuses_one_that_may_not(admin_client):
    no = post(admin_client, "/api/households", household_data(phone="13700005678", address="3号")).json()["household_no"]
    response = post(admin_client, f"/api/households/{no}", {"phone": None, "address": None}, method="patch")
    assert response.status_code == 200, response.content
    assert (response.json()["phone"], response.json()["address"]) == ("", "")
    cleared = HouseholdChange.objects.get(household__household_no=no, field="phone")
    assert (cleared.old_value, cleared.new_value) == ("137****5678", "")

    response = post(admin_client, f"/api/households/{no}", {"householder_name": None}, method="patch")
    assert response.status_code == 422 and response.json()["errors"]["householder_name"] == ["请填写户主姓名"]
    unsent = post(admin_client, f"/api/households/{no}", {"heated_area": 101}, method="patch").json()
    assert unsent["householder_name"] == "测试户主" and unsent["heated_area"] == 101.0  # fields not sent stay

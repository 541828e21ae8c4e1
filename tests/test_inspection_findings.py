"""Issue #18 (c, e): field visits kept once per client id, findings from failed items, rectification
by the responsible county, close and reopen, the overdue list and the notice (通报) per county."""
import io
import json
import uuid
from datetime import date, timedelta

import openpyxl
import pytest
from django.core.exceptions import ValidationError

from cleanheat.inspections import findings, rounds
from cleanheat.inspections.loader import current_checklist
from cleanheat.inspections.models import Finding, Visit

from .conftest import make_user
from .factories import photo

pytestmark = pytest.mark.django_db


@pytest.fixture
def round_():
    admin = make_user("fi_admin", "140902", role="county_admin")
    return rounds.create_round(kind="self", region_code="140902000000", year=2022, name="忻府区自查", user=admin)


@pytest.fixture
def inspector():
    return make_user("fi_inspector", "140902", role="field_inspector")


def answers_for(sample, **override):
    checklist = current_checklist(sample.household.heating_path, sample.round.kind)
    out, photos = {}, {}
    for item in checklist.items.all():
        if item.item_type == "yes_no":
            out[item.code] = "是"
        elif item.item_type == "number":
            out[item.code] = "19"
        elif item.item_type == "photo":
            photos[item.code] = [photo()]
    out.update({k: v for k, v in override.items() if k in out})  # the items of this path's list
    return out, photos


def test_a_failed_item_makes_a_finding_and_a_visit_is_kept_once(round_, inspector):
    sample = round_.samples.select_related("household").first()
    answers, photos = answers_for(sample, indoor_temp="15", old_stove_kept="否")
    cid = str(uuid.uuid4())
    first = findings.record_visit(sample, client_id=cid, answers=answers, photos=photos, user=inspector)
    again = findings.record_visit(sample, client_id=cid, answers=answers, photos=answers_for(sample)[1],
                                  user=inspector)
    assert first.created and not again.created and again.visit.pk == first.visit.pk
    assert Visit.objects.filter(client_id=cid).count() == 1
    found = Finding.objects.filter(visit=first.visit).order_by("item_code")
    assert [(f.item_code, f.severity, f.responsible_unit) for f in found] == [
        ("indoor_temp", "normal", "140902"), ("old_stove_kept", "serious", "140902")]
    assert {f.deadline - date.today() for f in found} == {timedelta(days=15), timedelta(days=7)}


def test_a_visit_with_an_impossible_number_is_refused_and_nothing_is_kept(round_, inspector):
    sample = round_.samples.first()
    answers, photos = answers_for(sample, indoor_temp="500")
    with pytest.raises(ValidationError, match="超出可能的范围"):
        findings.record_visit(sample, client_id="x-1", answers=answers, photos=photos, user=inspector)
    assert not Visit.objects.filter(client_id="x-1").exists()


def test_rectify_close_reopen_and_the_overdue_list_and_notice(round_, inspector, client):
    sample = round_.samples.first()
    answers, photos = answers_for(sample, old_stove_kept="否", indoor_temp="16")
    findings.record_visit(sample, client_id="v-1", answers=answers, photos=photos, user=inspector)
    finding = Finding.objects.filter(visit__client_id="v-1").first()
    county = make_user("fi_county", "140902", role="county_clerk")
    other = make_user("fi_other", "140981", role="county_clerk")
    with pytest.raises(ValidationError, match="只有责任单位"):
        findings.rectify(finding, note="已更换", evidence=[photo()], user=other)
    with pytest.raises(ValidationError, match="请上传整改后的照片"):
        findings.rectify(finding, note="已更换", evidence=[], user=county)
    findings.rectify(finding, note="已更换", evidence=[photo()], user=county)
    findings.reopen(finding, note="照片看不清", user=inspector)
    findings.rectify(finding, note="已重新更换", evidence=[photo()], user=county)
    findings.close(finding, user=inspector)
    finding.refresh_from_db()
    assert finding.status == "closed" and [s.action for s in finding.steps.all()] == \
        ["rectify", "reopen", "rectify", "close"]
    late = Finding.objects.filter(visit__client_id="v-1", status="open").get()
    Finding.objects.filter(pk=late.pk).update(deadline=date.today() - timedelta(days=4))
    city = make_user("fi_city", "1409", role="city_admin")
    rows = findings.overdue(city)
    assert [(r["pk"], r["days_overdue"]) for r in rows if r["pk"] == late.pk] == [(late.pk, 4)]
    assert [r["days_overdue"] for r in rows] == sorted((r["days_overdue"] for r in rows), reverse=True)
    overdue_here = Finding.objects.filter(status="open", deadline__lt=date.today(), responsible_unit="140902").count()
    assert findings.overdue(other) == []
    client.force_login(city)
    page = client.get("/inspections/findings/").content.decode()
    assert "忻府区" in page and late.description in page
    book = openpyxl.load_workbook(io.BytesIO(client.get("/inspections/findings/notice.xlsx").content))
    summary = [r for r in book["通报"].iter_rows(values_only=True) if r and r[0] == "忻府区"]
    assert summary and summary[0][2] == overdue_here                        # overdue in 忻府区
    assert [r[5] for r in book["逾期问题"].iter_rows(min_row=2, values_only=True)] == [r["days_overdue"] for r in rows]


def test_the_api_keeps_a_visit_sent_twice_once(round_, inspector, client):
    sample = round_.samples.first()
    answers, photos = answers_for(sample)
    client.force_login(inspector)
    body = {"client_id": "phone-visit-1", "sample_id": sample.pk, "answers": json.dumps(answers),
            "visited_at": "2022-10-20T10:30:00"}
    first = client.post("/api/inspections/visits", {**body, **{f"photo_{k}": v[0] for k, v in photos.items()}})
    again = client.post("/api/inspections/visits", {**body, **{f"photo_{k}": photo() for k in photos}})
    assert (first.status_code, again.status_code) == (201, 200), first.content
    assert first.json()["created"] and not again.json()["created"]
    assert Visit.objects.filter(client_id="phone-visit-1").count() == 1
    field = client.get("/inspections/field/").content.decode()
    assert f"/inspections/field/{sample.pk}/" not in field   # visited: off today's list

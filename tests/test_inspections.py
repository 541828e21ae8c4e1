"""Issue #18 (a): checklists as versioned data, acceptance records with evidence, and 已验收 refused
without one on every door (web form, API, import, management command, service)."""
import io
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image

from cleanheat.imports import ledger_import
from cleanheat.inspections import checklists, files, loader
from cleanheat.inspections import services as inspections
from cleanheat.inspections.models import AcceptanceRecord, Checklist, EvidenceFile, Finding
from cleanheat.ledger import services
from cleanheat.ledger.models import Household
from cleanheat.regions.models import Region

from .conftest import make_user
from .factories import accept, household_data, passing_answers, photo
from .sheets import TEMPLATE_HEADER, template_row, write_sheet

pytestmark = pytest.mark.django_db
MISSING = "须先填写验收记录"


@pytest.fixture
def clerk():
    return make_user("acc_clerk", "140902", role="county_clerk")


def installed(user, county="140902", **extra):
    """A 煤改电 household at 已完工."""
    extra = {"heating_path": "electric", "electric_device": "ashp_air", "heat_source": "", **extra}
    h = services.create_household(household_data(county=county, **extra), user=user)
    for state in ("selected", "installing", "installed"):
        services.transition(h, state, user=user)
    return Household.objects.get(pk=h.pk)


def acceptance_input(h, **changes):
    answers, photos = passing_answers(h)
    data = {"answers": answers, "photos": photos, "inspector_name": "验收员甲", "representative_name": "户主乙",
            "signature": photo("scan.jpg"), "signed_on_paper": True}
    data.update(changes)
    return inspections.AcceptanceInput(**data)


# ---- checklists as data ---------------------------------------------------------------------

def test_every_path_and_kind_has_a_checklist_and_loading_again_changes_nothing():
    kinds = {"acceptance", "self", "city", "joint"}
    have = set(Checklist.objects.values_list("heating_path", "kind"))
    assert {(p, k) for p in ("electric", "gas", "central", "biomass", "solar") for k in kinds} <= have
    electric = loader.current_checklist("electric", "acceptance")
    assert {"model_matches", "nameplate_photo", "indoor_temp", "leakage_protector", "old_stove_kept"} <= \
        set(electric.items.values_list("code", flat=True))
    assert loader.load_checklists() == 0


def test_a_changed_checklist_is_a_new_version_and_old_records_keep_theirs(clerk):
    h = installed(clerk)
    record = accept(h, user=clerk)
    spec = loader.read_checklists()
    spec["checklists"][0]["items"][2]["min"] = 16   # 煤改电 indoor temperature: 16 °C instead of 18
    assert loader.load_checklists(spec) == 4           # the four kinds of 煤改电
    new = loader.current_checklist("electric", "acceptance")
    assert new.version == record.checklist.version + 1
    assert new.items.get(code="indoor_temp").minimum == 16
    record.refresh_from_db()
    assert record.checklist.items.get(code="indoor_temp").minimum == 18


def test_the_judgement_of_a_filled_checklist():
    items = [i.spec() for i in loader.current_checklist("electric", "acceptance").items.all()]
    good = {"model_matches": "是", "indoor_temp": "19.5", "leakage_protector": "是", "old_stove_kept": "是"}
    photos = {"nameplate_photo": 1, "site_photo": 1}
    assert checklists.judge(items, good, photos).passed
    cold = checklists.judge(items, {**good, "indoor_temp": "16"}, photos)
    assert not cold.refusals and cold.failed == [("indoor_temp", "当日室内温度：16℃（应为≥18.00℃）")]
    absurd = checklists.judge(items, {**good, "indoor_temp": "180"}, photos)
    assert absurd.refusals and "超出可能的范围" in absurd.refusals[0][1]
    assert "应为数字" in checklists.judge(items, {**good, "indoor_temp": "暖和"}, photos).refusals[0][1]
    assert "须上传照片" in checklists.judge(items, good, {"site_photo": 1}).refusals[0][1]
    assert "应填“是”或“否”" in checklists.judge(items, {**good, "model_matches": "也许"}, photos).refusals[0][1]


# ---- the acceptance record ------------------------------------------------------------------

def test_a_passed_record_moves_the_household_to_accepted_with_its_evidence(clerk):
    h = installed(clerk)
    record = accept(h, user=clerk)
    h.refresh_from_db()
    assert h.state == "accepted" and record.passed
    assert h.lifecycle_events.last().reason == f"验收记录 {record.number}"
    assert len(record.answers["nameplate_photo"]) == 1 and record.signature.region_code == h.village_id
    kept = EvidenceFile.objects.get(pk=record.answers["nameplate_photo"][0])
    storage = files.evidence_storage()
    assert storage.exists(kept.stored_name) and storage.exists(kept.display_name)
    with storage.open(kept.display_name) as shown:
        assert not Image.open(shown).getexif()          # the copy shown carries no EXIF
    with storage.open(kept.stored_name) as original:
        assert Image.open(original).getexif()           # the evidence keeps it
    assert kept.taken_at is not None


def test_a_failed_item_keeps_the_record_and_the_household_at_installed(clerk):
    h = installed(clerk)
    record = inspections.record_acceptance(h, acceptance_input(h, answers={
        **passing_answers(h)[0], "leakage_protector": "否"}), user=clerk)
    h.refresh_from_db()
    assert not record.passed and h.state == "installed"
    assert record.failed_items == ["已安装漏电保护器（用电安全）：否"]
    with pytest.raises(ValidationError, match=MISSING):
        services.transition(h, "accepted", user=clerk)


@pytest.mark.parametrize("bad, field, message", [
    ("not_image", "nameplate_photo", "不是可识别的图片"),
    ("huge", "nameplate_photo", "超过15MB"),
    ("no_signature", "signature", "请上传纸质签字扫描件"),
    ("cold_absurd", "indoor_temp", "超出可能的范围"),
    ("no_names", "inspector_name", "请填写验收人"),
])
def test_bad_input_is_refused_with_a_clear_message_and_nothing_kept(clerk, bad, field, message):
    h = installed(clerk)
    answers, photos = passing_answers(h)
    changes = {}
    if bad == "not_image":
        changes["photos"] = {**photos, "nameplate_photo": [SimpleUploadedFile("a.jpg", b"%PDF-1.4 not a photo")]}
    elif bad == "huge":
        big = SimpleUploadedFile("big.jpg", b"\xff\xd8" + b"0" * (40 * 1024 * 1024))
        changes["photos"] = {**photos, "nameplate_photo": [big]}
    elif bad == "no_signature":
        changes["signature"] = None
    elif bad == "cold_absurd":
        changes["answers"] = {**answers, "indoor_temp": "500"}
    else:
        changes["inspector_name"] = " "
    before = (AcceptanceRecord.objects.count(), EvidenceFile.objects.count())
    with pytest.raises(ValidationError) as refused:
        inspections.record_acceptance(h, acceptance_input(h, **changes), user=clerk)
    assert any(message in m for m in refused.value.message_dict[field]), refused.value.message_dict
    h.refresh_from_db()
    assert h.state == "installed"
    assert (AcceptanceRecord.objects.count(), EvidenceFile.objects.count()) == before


def test_a_photo_without_exif_is_kept_with_a_warning(clerk):
    h = installed(clerk)
    photos = passing_answers(h)[1]
    photos["nameplate_photo"] = [photo("plain.jpg", exif=False)]
    record = inspections.record_acceptance(h, acceptance_input(h, photos=photos), user=clerk)
    kept = EvidenceFile.objects.get(pk=record.answers["nameplate_photo"][0])
    assert "没有拍摄时间和位置信息" in kept.warnings[0]


def test_acceptance_of_a_household_not_yet_installed_is_refused(clerk):
    h = services.create_household(household_data(), user=clerk)
    with pytest.raises(ValidationError, match="须为“已完工”才能验收"):
        inspections.record_acceptance(h, acceptance_input(installed(clerk)), user=clerk)
    assert not AcceptanceRecord.objects.filter(household=h).exists()


def test_a_household_moved_back_needs_a_new_record(clerk):
    h = installed(clerk)
    accept(h, user=clerk)
    services.transition(h, "installed", user=clerk, reason="验收后发现漏电保护器失效")
    with pytest.raises(ValidationError, match=MISSING):
        services.transition(h, "accepted", user=clerk)
    accept(h, user=clerk)
    h.refresh_from_db()
    assert h.state == "accepted" and h.acceptance_records.count() == 2


def test_the_demo_has_a_self_inspection_round_with_findings_and_rectifications():
    findings = Finding.objects.filter(round__name__contains="演示")
    assert findings.filter(status="open").exists() and findings.filter(status="rectified").exists()
    assert findings.filter(status="closed").exists()
    assert all(f.steps.filter(action="rectify").exists() for f in findings.exclude(status="open"))


def test_the_demo_households_at_accepted_or_later_all_have_a_record():
    later = Household.objects.filter(state__in=["accepted", "proven", "removed"])
    assert later.exists()
    assert not later.exclude(acceptance_records__passed=True).exists()


# ---- the doors --------------------------------------------------------------------------------

def test_the_web_form_refuses_accepted_without_a_record(client, clerk):
    h = installed(clerk)
    client.force_login(clerk)
    page = client.post(f"/households/{h.household_no}/transition/", {"to_state": "accepted"}, follow=True)
    assert MISSING in page.content.decode()
    assert "填写验收记录" in client.get(f"/households/{h.household_no}/").content.decode()
    h.refresh_from_db()
    assert h.state == "installed"


def test_the_api_refuses_accepted_without_a_record(client, clerk):
    h = installed(clerk)
    client.force_login(clerk)
    response = client.post(f"/api/households/{h.household_no}/transition", json.dumps({"to_state": "accepted"}),
                           content_type="application/json")
    assert response.status_code == 422 and MISSING in json.dumps(response.json(), ensure_ascii=False)
    h.refresh_from_db()
    assert h.state == "installed"


@pytest.mark.parametrize("door", ["import", "command"])
def test_an_import_leaves_the_household_at_installed_with_a_note(clerk, tmp_path, door, capsys):
    h = installed(clerk)
    sheet = write_sheet(tmp_path / "acc.xlsx", TEMPLATE_HEADER,
                        [template_row(household_no=h.household_no, state="已验收")])
    if door == "import":
        result = ledger_import.analyse(sheet, user=clerk, filename="acc.xlsx")
        assert not result.problems() and "该户保留为“已完工”" in "\n".join(result.notes())
        ledger_import.commit(result, user=clerk)
    else:
        call_command("import_ledger", str(sheet), "--user", "acc_clerk", "--commit")
    h.refresh_from_db()
    assert h.state == "installed"


@pytest.mark.parametrize("door", ["import", "command"])
def test_an_import_naming_a_record_that_is_not_the_households_is_refused(clerk, tmp_path, door, capsys):
    h, other = installed(clerk), installed(clerk)
    record = accept(other, user=clerk)
    sheet = write_sheet(tmp_path / "acc.xlsx", [*TEMPLATE_HEADER, "验收记录编号"],
                        [template_row(household_no=h.household_no, state="已验收") + [record.number]])
    if door == "import":
        result = ledger_import.analyse(sheet, user=clerk, filename="acc.xlsx")
        assert f"验收记录编号“{record.number}”不是本户有效的验收合格记录" in "\n".join(result.problems())
    else:
        with pytest.raises(CommandError):
            call_command("import_ledger", str(sheet), "--user", "acc_clerk", "--commit")
        assert "不是本户有效的验收合格记录" in capsys.readouterr().out
    h.refresh_from_db()
    assert h.state == "installed"


def test_an_import_naming_a_record_from_before_a_move_back_is_refused(clerk, tmp_path):
    h = installed(clerk)
    record = accept(h, user=clerk)
    services.transition(h, "installed", user=clerk, reason="复核发现问题")
    sheet = write_sheet(tmp_path / "acc.xlsx", [*TEMPLATE_HEADER, "验收记录编号"],
                        [template_row(household_no=h.household_no, state="已验收") + [record.number]])
    assert "不是本户有效的验收合格记录" in "\n".join(ledger_import.analyse(sheet, user=clerk, filename="acc.xlsx").problems())
    again = accept(h, user=clerk)  # accepted again on new evidence; the sheet naming it changes nothing more
    sheet = write_sheet(tmp_path / "acc2.xlsx", [*TEMPLATE_HEADER, "验收记录编号"],
                        [template_row(household_no=h.household_no, state="已验收") + [again.number]])
    result = ledger_import.analyse(sheet, user=clerk, filename="acc2.xlsx")
    assert not result.problems() and result.counts["unchanged"] == 1


def test_new_households_imported_as_accepted_stay_at_installed(clerk, tmp_path):
    village = Region.objects.filter(level=4, code__startswith="140902").order_by("code").first()
    data = household_data(village=village.code)
    sheet = write_sheet(tmp_path / "new.xlsx", TEMPLATE_HEADER, [template_row(
        village_code=village.code, householder_name="新户", id_number=data["id_number"], heated_area="80",
        original_facility="燃煤炉", heating_path="集中供热", heat_source="140902示范热源（演示）", state="已验收")])
    result = ledger_import.analyse(sheet, user=clerk, filename="new.xlsx")
    assert not result.problems(), result.problems()
    ledger_import.commit(result, user=clerk)
    assert Household.objects.get(householder_name="新户", village=village).state == "installed"


# ---- pages, API and files in scope --------------------------------------------------------------

def _jpeg(exif=True):
    return photo("p.jpg", exif=exif)


def test_the_acceptance_page_records_and_shows_it(client, clerk):
    h = installed(clerk)
    client.force_login(clerk)
    answers, photos = passing_answers(h)
    form = {f"item_{k}": v for k, v in answers.items()}
    form.update({f"photo_{k}": v[0] for k, v in photos.items()})
    form.update(inspector_name="验收员甲", representative_name="户主乙", signed_on_paper="on", signature=_jpeg())
    refused = client.post(f"/inspections/households/{h.household_no}/acceptance/",
                          {**form, "item_indoor_temp": "500", **{f"photo_{k}": photo() for k in photos},
                           "signature": _jpeg()})
    assert refused.status_code == 422 and "超出可能的范围" in refused.content.decode()
    assert not AcceptanceRecord.objects.filter(household=h).exists()
    response = client.post(f"/inspections/households/{h.household_no}/acceptance/", form, follow=True)
    record = AcceptanceRecord.objects.get(household=h)
    page = response.content.decode()
    assert record.number in page and "验收合格" in page
    h.refresh_from_db()
    assert h.state == "accepted"


def test_the_api_records_an_acceptance_as_multipart(client, clerk):
    h = installed(clerk)
    client.force_login(clerk)
    answers, photos = passing_answers(h)
    body = {"answers": json.dumps(answers), "inspector_name": "验收员甲", "representative_name": "户主乙",
            "signed_on_paper": "true", "signature": _jpeg(), **{f"photo_{k}": v[0] for k, v in photos.items()}}
    response = client.post(f"/api/inspections/households/{h.household_no}/acceptance", body)
    assert response.status_code == 201, response.content
    number = response.json()["number"]
    assert client.get(f"/api/inspections/acceptance/{number}").json()["passed"] is True
    h.refresh_from_db()
    assert h.state == "accepted"
    again = client.post(f"/api/inspections/households/{h.household_no}/acceptance",
                        {**body, "signature": _jpeg(), **{f"photo_{k}": photo() for k in photos}})
    assert again.status_code == 422 and "须为“已完工”才能验收" in json.dumps(again.json(), ensure_ascii=False)


def test_photos_are_served_only_in_scope(client, clerk):
    h = installed(clerk)
    record = accept(h, user=clerk)
    pk = record.answers["nameplate_photo"][0]
    client.force_login(clerk)
    shown = client.get(f"/inspections/files/{pk}/")
    assert shown.status_code == 200 and shown["Content-Type"] == "image/jpeg"
    assert client.get(f"/inspections/files/{pk}/original/").status_code == 200
    client.force_login(make_user("acc_other", "140981", role="county_admin"))
    assert client.get(f"/inspections/files/{pk}/").status_code == 404
    assert client.get(f"/inspections/files/{pk}/original/").status_code == 404
    assert client.get(f"/inspections/acceptance/{record.number}/").status_code == 404
    assert client.get(f"/api/inspections/acceptance/{record.number}").status_code == 404
    client.logout()
    assert client.get(f"/inspections/files/{pk}/").status_code in (302, 401, 403)


def test_a_large_image_gets_a_resized_display_copy():
    image, out = Image.new("RGB", (4000, 3000), (10, 20, 30)), io.BytesIO()
    image.save(out, "PNG")
    checked = files.check_image(SimpleUploadedFile("big.png", out.getvalue()), "照片")
    shown = Image.open(io.BytesIO(files.display_copy(checked.content)))
    assert max(shown.size) == files.DISPLAY_SIDE and checked.content_type == "image/png"

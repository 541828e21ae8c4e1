"""Declaration and review (申报审核): the village declares, the township and county review, county
finance approves; returns with opinions per section and resubmission; who may do which step; the
bulk action per village; photos served only in scope; the pages and the API."""
import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404

from cleanheat.accounts.roles import ROLES, can_assign
from cleanheat.ledger.models import HouseholdChange
from cleanheat.subsidies import declaration_flow as flow
from cleanheat.subsidies import services
from cleanheat.subsidies.models import Declaration, DeclarationStep, Entitlement, Status

from .conftest import make_user
from .test_subsidies import TODAY, YEAR, accepted_household, finance, policy  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 64
DATA = {"year": YEAR, "invoice_no": "No.04512345", "purchase_fen": 1_280_000, "installer": "忻州暖家安装队",
        "installed_on": TODAY}


def photos():
    return [("invoice", SimpleUploadedFile("发票.png", PNG, "image/png")),
            ("site", SimpleUploadedFile("现场.jpg", JPEG, "image/jpeg"))]


class People:
    """One user per level for the household's village (and a county finance of another county)."""

    def __init__(self, household, tag=""):
        village = household.village_id
        self.village = make_user(f"d_village{tag}", village, role="village_clerk")
        self.township = make_user(f"d_town{tag}", village[:9], role="township_clerk")
        self.county = make_user(f"d_energy{tag}", village[:6], role="county_energy")
        self.finance = make_user(f"d_cfin{tag}", village[:6], role="county_finance")
        self.inspector = make_user(f"d_insp{tag}", "1409", role="inspector")
        self.other_county = make_user(f"d_cfin_other{tag}", "140921", role="county_finance")


@pytest.fixture
def declared(policy):  # noqa: F811
    household = accepted_household(price="12800")
    services.compute_entitlements(YEAR, household.village_id)
    people = People(household)
    declaration = services.save_declaration(household, DATA, photos(), user=people.village, submit=True)
    return declaration, people


def act(declaration, action, user, **extra):
    declaration.refresh_from_db()
    return services.act_on_declaration(declaration.pk, action, user=user, version=declaration.version, **extra)


def test_the_whole_flow_with_a_return_and_a_resubmission_approves_the_entitlements(declared):
    declaration, p = declared
    assert declaration.status == flow.SUBMITTED
    act(declaration, "return", p.township, opinions={"invoice": "发票号码与照片不符", "attachments": "", "other": ""})
    declaration.refresh_from_db()
    assert declaration.status == flow.RETURNED

    services.save_declaration(declaration.household, {**DATA, "invoice_no": "No.04512346"}, user=p.village,
                              declaration=declaration, version=declaration.version, submit=True)
    declaration.refresh_from_db()
    assert (declaration.status, declaration.invoice_no) == (flow.SUBMITTED, "No.04512346")
    act(declaration, "review", p.township)
    act(declaration, "review", p.county)
    assert Entitlement.objects.filter(household=declaration.household, status=Status.APPROVED).count() == 0
    act(declaration, "approve", p.finance)
    declaration.refresh_from_db()
    assert declaration.status == flow.APPROVED
    lines = Entitlement.objects.filter(household=declaration.household, year=YEAR)
    assert lines.count() == 1 and lines.get().status == Status.APPROVED and lines.get().approved_by == p.finance

    steps = list(DeclarationStep.objects.filter(declaration=declaration).values_list("action", "level", "user__username"))
    assert [s for s in steps if s[0] != "edit"] == [
        ("submit", "village", "d_village"), ("return", "township", "d_town"), ("resubmit", "village", "d_village"),
        ("review", "township", "d_town"), ("review", "county", "d_energy"), ("approve", "finance", "d_cfin")]
    returned = DeclarationStep.objects.get(declaration=declaration, action="return")
    assert returned.opinion_rows() == [("发票信息", "发票号码与照片不符")]
    history = HouseholdChange.objects.filter(household=declaration.household, field="subsidy_declaration")
    assert history.count() == len(steps)
    assert history.filter(source__contains="发票信息：发票号码与照片不符").exists()


def test_who_may_do_which_step(declared):
    declaration, p = declared
    with pytest.raises(ValidationError, match="当前由乡镇处理"):
        act(declaration, "review", p.village)          # a village clerk cannot review …
    with pytest.raises(ValidationError, match="不能审批通过"):
        act(declaration, "approve", p.village)         # … nor approve
    with pytest.raises(ValidationError, match="当前由乡镇处理"):
        act(declaration, "review", p.county)           # the county's turn has not come
    with pytest.raises(Http404):
        act(declaration, "review", p.other_county)     # another county does not see it
    with pytest.raises(Http404):
        services.get_declaration(p.other_county, declaration.pk)
    with pytest.raises(ValidationError, match="当前由乡镇处理"):
        act(declaration, "review", p.inspector)        # the inspector reads only
    assert services.get_declaration(p.inspector, declaration.pk) == declaration
    with pytest.raises(ValidationError, match="至少填写一个部分的意见"):
        act(declaration, "return", p.township, opinions={"invoice": "  "})
    declaration.refresh_from_db()
    assert declaration.status == flow.SUBMITTED and declaration.steps.filter(action="return").count() == 0


def test_a_stale_double_submit_is_refused_and_nothing_is_written_twice(declared):
    declaration, p = declared
    declaration.refresh_from_db()
    seen = declaration.version
    services.act_on_declaration(declaration.pk, "review", user=p.township, version=seen)
    with pytest.raises(ValidationError, match="已被他人处理或修改"):
        services.act_on_declaration(declaration.pk, "review", user=p.township, version=seen)
    assert declaration.steps.filter(action="review").count() == 1


def test_bad_input_names_the_field_and_writes_nothing(policy, settings):  # noqa: F811
    household = accepted_household()
    p = People(household)
    bad = {**DATA, "invoice_no": "", "purchase_fen": 0, "installed_on": TODAY + timedelta(days=1)}
    with pytest.raises(ValidationError) as refused:
        services.save_declaration(household, bad, photos(), user=p.village, submit=True)
    assert refused.value.message_dict == {"invoice_no": ["请填写发票号码"], "purchase_fen": ["购置金额应大于0"],
                                          "installed_on": ["安装日期不能晚于今天"]}
    fake = [("invoice", SimpleUploadedFile("发票.png", b"GIF89a" + b"\0" * 20, "image/png"))]
    with pytest.raises(ValidationError, match="发票照片应为 JPEG 或 PNG 图片"):
        services.save_declaration(household, DATA, fake, user=p.village)
    with pytest.raises(ValidationError, match="提交前请上传现场照片"):
        services.save_declaration(household, DATA, photos()[:1], user=p.village, submit=True)
    assert not Declaration.objects.filter(household=household).exists()
    assert not list((settings.DATA_DIR / "declarations").glob("*/*"))    # no photo left behind either
    assert not HouseholdChange.objects.filter(household=household, field="subsidy_declaration").exists()
    services.save_declaration(household, DATA, photos(), user=p.village, submit=True)
    with pytest.raises(ValidationError, match=f"该户{YEAR}年度已有补贴申报"):
        services.save_declaration(household, DATA, photos(), user=p.village)


def test_subsidy_above_the_purchase_amount_is_flagged_at_review(policy):  # noqa: F811
    household = accepted_household(price="12800")     # equipment subsidy 8,000 yuan
    services.compute_entitlements(YEAR, household.village_id)
    p = People(household)
    declaration = services.save_declaration(household, {**DATA, "purchase_fen": 500_000}, photos(), user=p.village,
                                            submit=True)
    act(declaration, "review", p.township)
    declaration.refresh_from_db()
    assert declaration.over_purchase
    assert "设备补贴8,000元高于购置金额5,000元" in declaration.steps.get(action="review").note


def test_bulk_approve_of_a_village_lists_the_refused_one(policy):  # noqa: F811
    households = [accepted_household() for _ in range(3)]
    services.compute_entitlements(YEAR, households[0].village_id)
    p = People(households[0])
    declarations = [services.save_declaration(h, {**DATA, "invoice_no": f"No.{i}"}, photos(), user=p.village,
                                              submit=True) for i, h in enumerate(households)]
    for d in declarations:
        act(d, "review", p.township)
        act(d, "review", p.county)
    Entitlement.objects.filter(household=households[1]).delete()     # nothing computed: cannot approve
    versions = {d.pk: Declaration.objects.get(pk=d.pk).version for d in declarations}
    results = services.act_on_village(p.finance, households[0].village_id, YEAR, "approve", versions)
    by_household = {r["household_no"]: r for r in results}
    assert [by_household[h.household_no]["done"] for h in households] == [True, False, True]
    assert "还没有补贴核算结果" in by_household[households[1].household_no]["reason"]
    assert Declaration.objects.get(pk=declarations[1].pk).status == flow.COUNTY
    assert Entitlement.objects.filter(household__in=households, status=Status.APPROVED).count() == 2


def test_attachments_are_served_only_in_scope(client, declared):
    declaration, p = declared
    attachment = declaration.attachments.get(kind="invoice")
    client.force_login(p.township)
    answer = client.get(f"/subsidies/declarations/attachments/{attachment.pk}/")
    assert answer.status_code == 200 and answer["Content-Type"] == "image/png"
    assert b"".join(answer.streaming_content) == PNG
    assert "no-store" in answer["Cache-Control"]
    client.force_login(p.other_county)
    assert client.get(f"/subsidies/declarations/attachments/{attachment.pk}/").status_code == 404
    assert client.get(f"/subsidies/declarations/{declaration.pk}/").status_code == 404


def test_roles_for_declaration_and_review():
    assert "subsidies.declare" in ROLES["village_clerk"].permissions
    assert {"subsidies.declare", "subsidies.review_township"} <= ROLES["township_clerk"].permissions
    assert "subsidies.review_county" in ROLES["county_energy"].permissions
    assert "subsidies.approve" not in ROLES["county_energy"].permissions
    assert "subsidies.approve" not in ROLES["village_clerk"].permissions
    assert can_assign("county_admin", "county_energy")


def test_the_pages_declare_return_and_show_the_history(client, policy):  # noqa: F811
    household = accepted_household()
    services.compute_entitlements(YEAR, household.village_id)
    p = People(household)
    client.force_login(p.village)
    url = f"/subsidies/declarations/new/{household.household_no}/"
    assert "发票号码" in client.get(url).content.decode()
    form = {"year": YEAR, "invoice_no": "No.1", "purchase_yuan": "12800", "installer": "安装队",
            "installed_on": TODAY.isoformat(), "submit": "1"}
    bad = client.post(url, {**form, "purchase_yuan": "abc"})
    assert bad.status_code == 200 and "购置金额" in bad.content.decode()
    answer = client.post(url, {**form, "invoice": SimpleUploadedFile("a.png", PNG), "site": SimpleUploadedFile(
        "b.jpg", JPEG)})
    declaration = Declaration.objects.get(household=household)
    assert answer.status_code == 302 and declaration.status == flow.SUBMITTED
    card = client.get(f"/households/{household.household_no}/").content.decode()
    assert "补贴申报" in card and f"{YEAR}年度提交申报" in card    # the household's history and its card

    client.force_login(p.township)
    queue = client.get("/subsidies/declarations/").content.decode()
    assert household.village.name in queue
    client.post(f"/subsidies/declarations/{declaration.pk}/act/", {
        "action": "return", "version": declaration.version, "opinion_install": "安装日期有误"})
    page = client.get(f"/subsidies/declarations/{declaration.pk}/").content.decode()
    assert "安装信息" in page and "安装日期有误" in page and "已退回" in page
    client.post("/i18n/setlang/", {"language": "en"})
    english = client.get(f"/subsidies/declarations/{declaration.pk}/").content.decode()
    assert "Returned (village to correct)" in english and "Installation" in english and "安装日期有误" in english


def test_the_api_lists_and_moves_declarations_in_scope(client, declared):
    declaration, p = declared
    client.force_login(p.township)
    listed = client.get("/api/subsidies/declarations").json()
    assert [d["id"] for d in listed["items"]] == [declaration.pk]
    one = client.get(f"/api/subsidies/declarations/{declaration.pk}").json()
    assert one["status"] == "submitted" and one["history"][-1]["action"] == "submit"
    back = client.post(f"/api/subsidies/declarations/{declaration.pk}/actions", json.dumps(
        {"action": "return", "version": one["version"], "opinions": {"invoice": "发票不清晰"}}),
        content_type="application/json")
    assert back.status_code == 200 and back.json()["status"] == "returned"
    again = client.post(f"/api/subsidies/declarations/{declaration.pk}/actions", json.dumps(
        {"action": "review", "version": one["version"]}), content_type="application/json")
    assert again.status_code == 422 and "已被他人处理或修改" in json.dumps(again.json(), ensure_ascii=False)
    client.force_login(p.village)
    resubmit = client.post(f"/api/subsidies/declarations/{declaration.pk}/actions", json.dumps(
        {"action": "resubmit", "version": back.json()["version"]}), content_type="application/json")
    assert resubmit.status_code == 200 and resubmit.json()["status"] == "submitted"
    client.force_login(p.other_county)
    assert client.get(f"/api/subsidies/declarations/{declaration.pk}").status_code == 404
    assert client.get("/api/subsidies/declarations").json()["items"] == []


def test_the_api_declares_uploads_photos_and_submits(client, policy):  # noqa: F811
    household = accepted_household()
    p = People(household)
    client.force_login(p.village)
    url = f"/api/subsidies/households/{household.household_no}/declarations"
    body = {"year": YEAR, "invoice_no": "No.9", "purchase_yuan": "12800.5", "installer": "安装队",
            "installed_on": TODAY.isoformat()}
    bad = client.post(url, json.dumps({**body, "purchase_yuan": "12.345"}), content_type="application/json")
    assert bad.status_code == 422 and "两位小数" in json.dumps(bad.json(), ensure_ascii=False)
    made = client.post(url, json.dumps(body), content_type="application/json")
    assert made.status_code == 201 and made.json()["status"] == "draft" and made.json()["purchase_fen"] == 1_280_050
    pk, version = made.json()["id"], made.json()["version"]
    for kind, content in (("invoice", PNG), ("site", JPEG)):
        answer = client.post(f"/api/subsidies/declarations/{pk}/attachments", {
            "kind": kind, "version": version, "file": SimpleUploadedFile(f"{kind}.img", content)})
        assert answer.status_code == 201, answer.content
        version = answer.json()["version"]
    done = client.post(f"/api/subsidies/declarations/{pk}/actions", json.dumps({"action": "submit", "version": version}),
                       content_type="application/json")
    assert done.status_code == 200 and done.json()["status"] == "submitted"
    assert [a["kind"] for a in done.json()["attachments"]] == ["invoice", "site"]


def test_the_flow_allows_only_its_moves_each_by_the_level_that_holds_it():
    perms = {flow.VILLAGE: "d", flow.TOWNSHIP_LEVEL: "t", flow.COUNTY_LEVEL: "c", flow.FINANCE: "f"}
    everyone = set(perms.values())
    allowed = {(state, action) for state in flow.STATES for action in flow.ACTION_LABELS
               if flow.check_move(state, action, everyone, perms) is None}
    assert allowed == set(flow.MOVES)
    assert flow.check_move(flow.APPROVED, flow.RETURN, everyone, perms).message == "当前状态为“已审批”，不能退回"
    for (state, action), _ in flow.MOVES.items():   # only the holder's permission will do
        holder = perms[flow.HOLDER[state]]
        assert flow.check_move(state, action, everyone - {holder}, perms) is not None
        assert flow.check_move(state, action, {holder}, perms) is None
    assert flow.check_move(flow.SUBMITTED, flow.RETURN, everyone, perms, {"invoice": ""}).field == "opinions"
    assert "不存在" in flow.check_move(flow.SUBMITTED, flow.RETURN, everyone, perms, {"price": "x"}).message
    assert flow.image_type(PNG) == ("image/png", ".png") and flow.image_type(b"%PDF-1.4") is None
    assert flow.attachment_refusal("site", JPEG, 6 * 1024 * 1024, 5 * 1024 * 1024).message == \
        "现场照片超过5MB，请压缩后重新上传"

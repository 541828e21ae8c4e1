"""Every URL pattern and every API route, walked as a county-A administrator against county B.

Routes are discovered from the URL resolver and the OpenAPI schema, so new ones are covered
automatically; a route with a parameter this test cannot fill fails the test until it learns it.
No refusal met on the way may name a household, contract or place of county B."""
import json
import re

import pytest
from django.contrib.messages import get_messages
from django.db.models import Q
from django.forms import BaseForm
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from cleanheat import pii
from cleanheat.accounts.models import ApiToken, LoginThrottle
from cleanheat.desk import services as desk
from cleanheat.inspections.models import (AcceptanceRecord, EvidenceFile, Finding, InspectionRound,
                                         SampledHousehold)
from cleanheat.jobs.models import Job
from cleanheat.ledger import services
from cleanheat.ledger.models import Household
from cleanheat.plan.models import DispatchReport, Plan
from cleanheat.regions.models import Region, RegionChange
from cleanheat.service import services as service
from cleanheat.service.models import TicketPhoto
from cleanheat.subsidies.models import (
    Declaration,
    DeclarationAttachment,
    Entitlement,
    Notice,
    NoticeLine,
    Objection,
    PaymentBatch,
    PaymentLine,
    SubsidyPolicy,
)

from .conftest import make_user
from .factories import household_data

pytestmark = pytest.mark.django_db
A, B = "140902", "140981"


def all_patterns(resolvers=None, prefix=""):
    for entry in (resolvers or get_resolver()).url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            if route.startswith("api/"):  # covered through the OpenAPI schema below
                continue
            yield from all_patterns(entry, route)
        elif isinstance(entry, URLPattern):
            yield route, entry


@pytest.fixture
def county_b():
    household = Household.objects.filter(village__code__startswith=B, archived=False).order_by("pk").first()
    b_user = make_user("b_someone", B, role="county_clerk")
    from cleanheat.procurement.models import Allocation, CatalogModel, ContractLine, CountyContract, TenderLot
    lot = TenderLot.objects.create(tender_no="B-ZB", code="1", name="乙县自行招标", year=2022, county_code=B,
                                   path="biomass")
    b_model = CatalogModel.objects.create(lot=lot, vendor="乙县企业", equipment_type="biomass_boiler", model_name="B-1",
                                          rated_capacity_kw=15, seasonal_efficiency="0.85", unit_price=6000)
    b_contract = CountyContract.objects.create(county_code=B, contract_no="B-CG-1", vendor="乙县企业", title="乙县合同")
    b_line = ContractLine.objects.create(contract=b_contract, model=b_model, quantity=5, unit_price=6000)
    b_allocation = household.allocations.first() or Allocation.objects.create(household=household, line=b_line,
                                                                              channel="ui")
    job = Job.objects.create(kind="export_households", user=b_user, region_scope=B, params={})
    plan = Plan.objects.get(year=2022)
    report = DispatchReport.objects.create(plan=plan, county_code=B, period_start=plan.works_start,
                                           period_end=plan.works_start, figures={}, responsible_person="乙",
                                           submitted_by=b_user)
    b_policy = SubsidyPolicy.objects.create(region_id=B.ljust(12, "0"), year=2030, title="乙县补贴政策",
                                            effective_from=timezone.localdate())
    b_declaration = Declaration.objects.create(household=household, village_code=household.village_id, year=2030,
                                               invoice_no="B-FP-1", purchase_fen=100, installer="乙县安装队",
                                               installed_on=timezone.localdate(), status="submitted")
    b_photo = DeclarationAttachment.objects.create(declaration=b_declaration, kind="invoice", stored_name="b.png",
                                                   original_name="b.png", content_type="image/png", size=1)
    b_subsidy_notice = Notice.objects.create(village_code=household.village_id, year=2030, starts_on=timezone.localdate(),
                                             period_days=7, ends_on=timezone.localdate())
    b_notice_line = NoticeLine.objects.create(notice=b_subsidy_notice, household=household, position=1,
                                              name_masked="乙*", id_masked="1409**********0000", amount_fen=100,
                                              kinds="设备补贴")
    b_objection = Objection.objects.create(line=b_notice_line, raised_by="乙县村民", content="乙县异议",
                                           received_on=timezone.localdate())
    b_notice = desk.publish(user=make_user("b_admin", B, role="county_admin"), title="乙县内部通知", body="乙县",
                            audience="all")
    b_change = RegionChange.objects.create(kind="rename", effective_on=timezone.localdate(),
                                           from_codes=[household.village_id], to_name="乙县改名村")
    b_acceptance = AcceptanceRecord.objects.filter(region_code__startswith=B).first()  # the demo's
    b_evidence = EvidenceFile.objects.create(region_code=household.village_id, stored_name="b.jpg",
                                             original_name="b.jpg", content_type="image/jpeg", size=1, sha256="0")
    b_round = InspectionRound.objects.create(kind="self", name="乙县自查", region_code=B.ljust(12, "0"), year=2022,
                                             level="township", share="0.05", minimum=10, seed=1)
    b_sample = SampledHousehold.objects.create(round=b_round, household=household, region_code=household.village_id,
                                               unit_code=household.village_id[:9].ljust(12, "0"),
                                               heating_path=household.heating_path)
    b_finding = Finding.objects.create(round=b_round, household=household, region_code=household.village_id,
                                       item_code="indoor_temp", description="室温不足", responsible_unit=B,
                                       deadline=timezone.localdate())
    b_ticket = service.open_ticket(b_user, {"household": household, "category": "device_fault", "severity": "normal",
                                            "source": "hotline", "description": "乙县报修"})
    b_ticket_photo = TicketPhoto.objects.create(ticket=b_ticket, stage="before", stored_name="b.jpg",
                                                original_name="b.jpg", size=1)
    b_entitlement = Entitlement.objects.filter(village_code__startswith=B).order_by("pk").first()
    b_batch = PaymentBatch.objects.create(county_code=B.ljust(12, "0"), year=2030, number="B-2030-001")
    b_payment = PaymentLine.objects.create(batch=b_batch, row_no=1, entitlement=b_entitlement, in_open_batch=False,
                                           household_id=b_entitlement.household_id, status="paid",
                                           village_code=b_entitlement.village_code, amount_fen=1, name="乙县户主",
                                           id_cipher="", card_cipher="", card_hash="", card_masked="", item="乙")
    now = timezone.now()
    pause = LoginThrottle.objects.create(kind=LoginThrottle.USERNAME_AT_ADDRESS, username=b_user.username,
                                         ip="10.0.0.2", region_code=B, failures=5, started_at=now,
                                         until=now + timezone.timedelta(hours=1))
    b_token = ApiToken.objects.create(user=b_user, name="乙县对接", digest="b" * 64, hint="chk_bbbbbb",
                                      created_by=b_user, expires_at=now + timezone.timedelta(days=1))
    return {
        "household": household,
        "values": {
            "code": household.village.parent_id,          # a township of county B
            "household_no": household.household_no,
            "user_id": b_user.pk, "job_id": job.pk, "what": "result",
            "report_id": report.pk, "county_code": B,
            "object_id": household.pk, "app_label": "ledger", "model_name": "household",
            "content_type_id": "1", "url": "x", "id": household.pk,
            "model_id": b_model.pk, "contract_id": b_contract.pk, "allocation_id": b_allocation.pk,
            "line_id": b_line.pk,
            "throttle_id": pause.pk, "policy_id": b_policy.pk, "notice_id": b_notice.pk, "change_id": b_change.pk,
            "ticket_id": b_ticket.pk, "photo_id": b_ticket_photo.pk,
            "token_id": b_token.pk,
            "declaration_id": b_declaration.pk, "attachment_id": b_photo.pk, "village_code": household.village_id,
            "subsidy_notice_id": b_subsidy_notice.pk, "notice_line_id": b_notice_line.pk,
            "objection_id": b_objection.pk,
            "number": b_acceptance.number, "evidence_id": b_evidence.pk, "round_id": b_round.pk,
            "sample_id": b_sample.pk, "finding_id": b_finding.pk,
            "batch_id": b_batch.pk, "payment_id": b_payment.pk,
            "slug": B,  # help pages are not objects: none is named after a county-B code
            "path": "electric", "kind": "acceptance",  # checklists are the city's: a county role is refused
        },
        "names": set(Region.objects.filter(code__startswith=B).values_list("name", flat=True)[:200]),
        "secrets": b_secrets(),
        "id_number": pii.decrypt(household.id_number_cipher),
    }


def b_secrets() -> set[str]:
    """What no refusal may tell a county-A user: B's household and contract numbers, and the names
    of B's places that no place outside B shares."""
    from cleanheat.procurement.models import CountyContract
    names = set(Region.objects.filter(code__startswith=B).values_list("name", flat=True))
    names -= set(Region.objects.exclude(code__startswith=B).values_list("name", flat=True))
    return (set(Household.objects.filter(village__code__startswith=B).values_list("household_no", flat=True))
            | set(CountyContract.objects.filter(county_code=B).values_list("contract_no", flat=True))
            | {name for name in names if len(name) > 2})


def told(response) -> list[str]:
    """What a response told the user when it refused: its messages, form errors, a 4xx body."""
    said = [str(m) for m in get_messages(response.wsgi_request)]
    context = response.context[0] if isinstance(response.context, list) else response.context
    for name, value in (context.flatten() if context else {}).items():
        if isinstance(value, BaseForm):
            said += [str(e) for errors in value.errors.values() for e in errors]
        elif name == "errors":  # an htmx fragment's own list
            said += [str(e) for e in value]
    if response.status_code < 400 or response.streaming:
        return said
    if response.get("Content-Type", "").startswith("application/json"):  # as a person reads it, not \u-escaped
        return said + [json.dumps(response.json(), ensure_ascii=False)]
    return said + [response.content.decode().replace(response.wsgi_request.path, "")]  # 404 pages echo the path


def assert_names_nothing_of_b(response, county_b, where):
    for text in told(response):
        leaked = [secret for secret in county_b["secrets"] if secret in text]
        assert not leaked, f"{where}: {leaked} in {text[:300]}"


@pytest.fixture
def a_client(client):
    client.force_login(make_user("a_admin", A, role="county_admin"))
    return client


def fill(route, values):
    """Turn a Django route (path or regex) into a URL with county-B values."""
    route = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), route)
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(values[m.group(1)]), route)
    return "/" + route.lstrip("^").rstrip("$").replace("\\", "")


def test_every_page_denies_county_b_objects(a_client, county_b):
    hh = county_b["household"]
    before = (hh.heated_area, hh.state, hh.archived, Household.objects.count())
    checked = 0
    for route, pattern in all_patterns():
        if route.startswith("admin/"):
            for method in ("get", "post"):
                url = fill(route, county_b["values"]) if "<" in route or "(?P" in route else "/" + route
                response = getattr(a_client, method)(url)
                # only superusers enter the admin: anyone else gets its login form or nothing
                assert response.status_code in (200, 302, 403, 404), url
                if response.status_code == 302:
                    assert response.url.startswith("/admin/")
                if response.status_code == 200:
                    assert 'id="login-form"' in response.content.decode(), url
            continue
        if "<" not in route and "(?P" not in route:
            continue  # lists: checked below by content
        url = fill(route, county_b["values"])
        for method in ("get", "post"):
            payload = {"reason": "越权测试", "to_state": "selected", "field": "id_number",
                       "heated_area": "999", "role": "city_admin", "region_scope": A}
            response = getattr(a_client, method)(url, payload)
            assert response.status_code in (403, 404, 405), f"{method.upper()} {url} → {response.status_code}"
            assert_names_nothing_of_b(response, county_b, f"{method.upper()} {url}")
        checked += 1
    assert checked >= 8
    hh.refresh_from_db()
    assert (hh.heated_area, hh.state, hh.archived, Household.objects.count()) == before


def test_lists_and_pickers_show_nothing_of_county_b(a_client, county_b):
    hh = county_b["household"]
    # names only B's places bear (a county-A village may share a name with one of B's and be shown)
    long_names = [name for name in county_b["names"] if len(name) > 2 and name in county_b["secrets"]]
    assert long_names
    only_b = next(n for n in long_names if not Region.objects.exclude(code__startswith=B)
                  .filter(Q(name__contains=n) | Q(short_name__contains=n)).exists())  # named nowhere else
    for url, params in [("/households/", {"region": B}), ("/households/", {"q": hh.household_no}),
                        ("/households/", {"q": hh.householder_name}), ("/regions/villages/", {"county": B}),
                        ("/accounts/users/", {}), ("/audit/", {}), ("/audit/export.csv", {}),
                        ("/regions/places/", {"region": only_b}), ("/regions/places/", {"place": only_b, "mode": "form"}),
                        ("/households/", {"region": only_b})]:
        response = a_client.get(url, params)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        # the search box and the export link echo what was typed
        text = re.sub(r'<form.*?</form>|href="[^"]*"', "", body.decode(), flags=re.S).replace(f"“{only_b}”", "")
        assert hh.household_no not in text and "b_someone" not in text, url
        assert not [name for name in long_names if name in text], url


def api_routes(client):
    schema = client.get("/api/openapi.json").json()
    for path, methods in schema["paths"].items():
        for method in methods:
            yield path, method


def test_every_api_route_denies_county_b(a_client, county_b):
    values = county_b["values"]
    hh = county_b["household"]
    seen = 0
    for path, method in api_routes(a_client):
        url = re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), path)
        body = {"to_state": "selected", "reason": "越权测试", "heated_area": 999, "village": hh.village_id,
                "line_id": values["line_id"], "status": "terminated",
                **household_data(county=B)}
        if method == "get":
            response = a_client.get(url, {"region": B, "parent": values["code"]})
        else:
            response = getattr(a_client, method)(url, json.dumps(body), content_type="application/json")
        assert_names_nothing_of_b(response, county_b, f"{method.upper()} {url}")
        if "{" in path:
            assert response.status_code in (403, 404), f"{method.upper()} {url} → {response.status_code}"
        elif method == "get" or path.endswith("/search"):  # reads (a search posts its term)
            assert response.status_code in (200, 404)
            assert hh.household_no not in response.content.decode()
        else:  # create into county B is refused with the scope message
            assert response.status_code in (403, 422), f"{method.upper()} {url}"
        seen += 1
    assert seen >= 9
    assert not Household.objects.filter(householder_name="测试户主", village__code__startswith=B).exists()


# ---- own households, county B's ids: what the refusals say -------------------------------------

GENERIC = "该身份证号已在其他地区登记为户主，请联系县级管理员核实"


@pytest.fixture
def own_households(county_b):
    """An active household of A, and an archived one whose householder now heads a household of B."""
    active, archived = Household.objects.filter(village__code__startswith=A, archived=False).order_by("pk")[:2]
    holder = Household.objects.filter(village__code__startswith=B, archived=False).order_by("pk")[1]
    services.archive_household(archived, reason="迁往乙县", user=None)
    services.update_household(holder, {"id_number": pii.decrypt(archived.id_number_cipher)}, user=None)
    return {"active": active, "archived": archived}


@pytest.mark.parametrize("which", ["active", "archived"])
def test_every_page_on_own_households_with_county_b_ids_names_nothing_of_b(a_client, county_b, own_households,
                                                                            which):
    values = {**county_b["values"], "household_no": own_households[which].household_no}
    payload = {**household_data(id_number=county_b["id_number"]), "reason": "越权测试", "to_state": "selected",
               "field": "id_number", "line": values["line_id"], "role": "city_admin", "region_scope": A}
    said = []
    for route, _ in all_patterns():
        if route.startswith(("admin/", "i18n/", "accounts/logout/")):
            continue
        url = fill(route, values) if "<" in route or "(?P" in route else "/" + route
        for method in ("get", "post"):
            response = getattr(a_client, method)(url, payload)
            assert response.status_code < 500, f"{method.upper()} {url} → {response.status_code}"
            assert_names_nothing_of_b(response, county_b, f"{method.upper()} {url}")
            said += told(response)
    assert any(GENERIC in text for text in said)  # the walk did reach the duplicate check


@pytest.mark.parametrize("which", ["active", "archived"])
def test_every_api_route_on_own_households_with_county_b_ids_names_nothing_of_b(a_client, county_b, own_households,
                                                                                 which):
    values = {**county_b["values"], "household_no": own_households[which].household_no}
    body = {**household_data(id_number=county_b["id_number"]), "to_state": "selected", "reason": "越权测试",
            "line_id": values["line_id"], "status": "terminated"}
    said = []
    for path, method in api_routes(a_client):
        url = re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), path)
        if method == "get":
            response = a_client.get(url, {"region": B, "parent": values["code"]})
        else:
            response = getattr(a_client, method)(url, json.dumps(body), content_type="application/json")
        assert response.status_code < 500, f"{method.upper()} {url} → {response.status_code}"
        assert_names_nothing_of_b(response, county_b, f"{method.upper()} {url}")
        said += told(response)
    assert any(GENERIC in text for text in said)

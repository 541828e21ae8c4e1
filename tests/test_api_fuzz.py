"""Every API route fuzzed from its own OpenAPI schema (schemathesis, in-process over WSGI against the
test database): as a county clerk signed in with a session, and as a county administrator's API
token. No answer may be a server error, and every answer must be one the schema documents, with a
body that fits it. Path parameters are mostly real records of the caller's county (households,
regions, contracts, tickets, declarations …), so the fuzz reaches past the 404.

The number of examples per route is bounded (CLEANHEAT_FUZZ_EXAMPLES, default below) so the suite
stays within CI's time; Hypothesis' example database is off, so every run tries the same examples."""
import os
import zlib

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from django.utils.crypto import get_random_string
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from ninja import Schema
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from cleanheat.accounts import tokens
from cleanheat.api import api

from .factories import household_data

EXAMPLES = int(os.environ.get("CLEANHEAT_FUZZ_EXAMPLES", "12"))
COUNTY = "140902"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
REAL_SHARE = 4  # of every 4 generated path values, 3 are replaced by a real record in scope

# Boundary ("coverage") examples and random ones; no calls with other HTTP methods (405s say nothing
# about the routes), no example database.
CONFIG = SchemathesisConfig.from_dict({"phases": {"coverage": {"unexpected-methods": []}},
                                       "generation": {"database": "none"}})
schema = schemathesis.openapi.from_dict(api.get_openapi_schema(path_prefix="/api/"), config=CONFIG)


class InProcess(WSGIHandler):
    """Django's WSGI handler without the per-request connection recycling: the test's transaction
    (and its rollback at the end) must hold across the fuzzed requests, as Django's test client does."""

    def __call__(self, environ, start_response):
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            return super().__call__(environ, start_response)
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)


schema.app = InProcess()


def real_values():
    """Path parameter name → real values in the county (the fuzz also keeps some made-up ones)."""
    from cleanheat.desk.models import Notice
    from cleanheat.inspections.models import AcceptanceRecord
    from cleanheat.ledger.models import Household
    from cleanheat.procurement.models import CatalogModel, CountyContract
    from cleanheat.regions.models import Region
    from cleanheat.service.models import Ticket
    from cleanheat.subsidies.models import Declaration, PaymentBatch, SubsidyPolicy
    households = Household.objects.filter(village__code__startswith=COUNTY).order_by("household_no")
    return {
        "household_no": list(households.values_list("household_no", flat=True)[:40]),
        "code": list(Region.objects.filter(code__startswith=COUNTY).values_list("code", flat=True)[:20])
        + ["140900000000"],
        "model_id": list(CatalogModel.objects.values_list("pk", flat=True)[:20]),
        "contract_id": list(CountyContract.objects.values_list("pk", flat=True)[:20]),
        "ticket_id": list(Ticket.objects.values_list("pk", flat=True)[:20]),
        "declaration_id": list(Declaration.objects.values_list("pk", flat=True)[:20]),
        "policy_id": list(SubsidyPolicy.objects.values_list("pk", flat=True)[:20]),
        "batch_id": list(PaymentBatch.objects.values_list("pk", flat=True)[:20]),
        "notice_id": list(Notice.objects.values_list("pk", flat=True)[:20]),
        "number": list(AcceptanceRecord.objects.values_list("number", flat=True)[:20]),
    }


def with_real_records(case, real):
    """Replace most generated path values by real ones (chosen from the generated value, so
    Hypothesis still drives and shrinks the choice)."""
    for name, value in (case.path_parameters or {}).items():
        pick = zlib.crc32(repr(value).encode())
        if real.get(name) and pick % REAL_SHARE:
            case.path_parameters[name] = real[name][pick % len(real[name])]


def user(username, scope, role):
    """A user without a password (none is needed here, and hashing one per test costs seconds)."""
    return get_user_model().objects.create(username=username, region_scope=scope, role=role, full_name=username,
                                           must_change_password=False)


@pytest.fixture
def callers(db):
    """The two ways in: a county clerk's session (with its CSRF token), a county admin's API token."""
    browser = Client()
    browser.force_login(user("fuzz_clerk", COUNTY, "county_clerk"))
    csrf = get_random_string(32)  # a CSRF secret: the cookie and the header carry the same
    session = {"cookies": {"sessionid": browser.cookies["sessionid"].value, "csrftoken": csrf},
               "headers": {"X-CSRFToken": csrf}}
    row, token = tokens.issue(user("fuzz_city", "1409", "city_admin"), user("fuzz_admin", COUNTY, "county_admin"),
                              "模糊测试", 30)
    row.rate_per_minute = 1_000_000  # the fuzz is no test of the rate limit
    row.save(update_fields=["rate_per_minute"])
    return {"session": session, "token": {"cookies": {}, "headers": {"Authorization": f"Bearer {token}"}}}


@pytest.fixture
def real(db):
    found = real_values()
    assert found["household_no"] and found["code"], "the demo data should give the fuzz households in scope"
    return found


@pytest.mark.django_db
@pytest.mark.parametrize("caller", ["session", "token"])
@schema.parametrize()
@hypothesis_settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                     phases=[Phase.explicit, Phase.generate],
                     suppress_health_check=list(HealthCheck))
def test_api_route(case, caller, callers, real):
    with_real_records(case, real)
    auth = callers[caller]
    case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    case.cookies = {k: v for k, v in (case.cookies or {}).items() if k not in ("sessionid", "csrftoken")}
    case.call_and_validate(headers=auth["headers"], cookies=auth["cookies"], checks=CHECKS)


def _schemas(cls=Schema):
    for sub in cls.__subclasses__():
        yield sub
        yield from _schemas(sub)


def test_no_two_api_schemas_share_a_name():
    """The OpenAPI document names each schema once: two apps' `LineOut` (or `ItemOut`, `ActionIn`)
    made one route's answer documented as the other's, and generated clients read the wrong fields."""
    seen = {}
    for cls in _schemas():
        if cls.__module__.startswith("cleanheat."):
            seen.setdefault(cls.__name__, set()).add(cls.__module__)
    assert {name: modules for name, modules in seen.items() if len(modules) > 1} == {}


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/households", "/api/subsidies/declarations", "/api/subsidies/batches"])
def test_a_page_far_past_the_end_of_any_list_answers_404(client, url):
    """The fuzz's find: the subsidies lists took any page number to the database (whose integer
    overflowed: 500); every paginated list now answers 404 naming the page."""
    client.force_login(user("pages_admin", COUNTY, "county_admin"))
    response = client.get(url, {"page": "119447896660895536"})
    assert response.status_code == 404 and "第119447896660895536页不存在" in response.json()["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize("caller", ["session", "token"])
def test_the_fuzzs_callers_get_in_and_may_write(caller, callers, real):
    """Both ways in pass login, CSRF and the role's permission (else the fuzz would meet only 401/403):
    each reads a real household of the county and creates one."""
    auth = callers[caller]
    read = schema["/api/households/{household_no}"]["GET"].Case(path_parameters={"household_no": real["household_no"][0]})
    assert read.call(headers=auth["headers"], cookies=auth["cookies"]).status_code == 200
    write = schema["/api/households"]["POST"].Case(body=household_data(phone="13700001234"))
    response = write.call(headers=auth["headers"], cookies=auth["cookies"])
    assert response.status_code == 201, response.text

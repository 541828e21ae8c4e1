"""API tokens for machine clients: an administrator issues one for an integration user (shown once,
stored hashed); it acts as that user on every /api/ route without a session or CSRF token; expired,
revoked and malformed tokens answer 401 and are logged; its scope is its user's; every call is in
the audit log; each token has a rate limit."""
import json
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from cleanheat.accounts.models import ApiToken
from cleanheat.audit.models import AuditEvent
from cleanheat.ledger.models import Household

from .conftest import make_user
from .factories import household_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def integration_user(db):
    return make_user("grid_sync", "140902", role="county_clerk")


def issue(admin_client, user, name="供电公司数据对接", days="30"):
    response = admin_client.post(f"/accounts/users/{user.pk}/tokens/", {"name": name, "days": days})
    assert response.status_code == 200
    match = re.search(r'<code id="token-value">(chk_[^<]+)</code>', response.content.decode())
    return match.group(1) if match else None


def bearer(token, **extra):
    """A client with no session and strict CSRF checks, as a machine client is."""
    return Client(enforce_csrf_checks=True, headers={"Authorization": f"Bearer {token}"}, **extra)


def test_an_administrator_issues_a_token_shown_once_and_stored_hashed(admin_client, integration_user):
    token = issue(admin_client, integration_user)
    assert token and len(token) > 40
    row = ApiToken.objects.get(user=integration_user)
    assert token not in (row.digest, row.hint) and row.hint == token[:10]
    page = admin_client.get(f"/accounts/users/{integration_user.pk}/tokens/").content.decode()
    assert token not in page and f"{row.hint}…" in page and "从未使用" in page
    assert AuditEvent.objects.filter(action="api_token", target__contains="grid_sync").exists()


def test_bad_input_when_issuing_is_refused_in_chinese(admin_client, integration_user):
    response = admin_client.post(f"/accounts/users/{integration_user.pk}/tokens/", {"name": " ", "days": "400"})
    page = response.content.decode()
    assert "请填写令牌用途" in page and "有效天数“400”应为1到366之间的整数" in page
    assert not ApiToken.objects.exists()


def test_a_county_clerk_cannot_issue_tokens_and_an_admin_only_inside_their_scope(client, county_clerk):
    client.force_login(county_clerk)
    assert client.post(f"/accounts/users/{county_clerk.pk}/tokens/", {"name": "x", "days": "5"}).status_code == 403
    county_admin = make_user("t_xinfu_admin", "140902", role="county_admin")
    elsewhere = make_user("t_other_sync", "140981", role="county_clerk")
    client.force_login(county_admin)
    assert client.post(f"/accounts/users/{elsewhere.pk}/tokens/", {"name": "x", "days": "5"}).status_code == 404
    assert not ApiToken.objects.exists()


def test_a_token_acts_as_its_user_on_every_api_route_without_session_or_csrf(admin_client, integration_user):
    token = issue(admin_client, integration_user)
    machine = bearer(token)
    items = machine.get("/api/households").json()["items"]
    assert items and all(h["village"].startswith("140902") for h in items)
    response = machine.post("/api/households", json.dumps(household_data(phone="13700004321")),
                            content_type="application/json")
    assert response.status_code == 201, response.content        # a write, with no CSRF token
    assert Household.objects.get(household_no=response.json()["household_no"]).changes.first().user == integration_user
    row = ApiToken.objects.get()
    assert row.last_used_at is not None and row.last_used_ip == "127.0.0.1"
    calls = AuditEvent.objects.filter(action="api_call", user=integration_user)
    assert set(calls.values_list("target", flat=True)) == {"GET /api/households", "POST /api/households"}


def test_a_session_write_still_needs_its_csrf_token(integration_user):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(integration_user)
    response = browser.post("/api/households", json.dumps(household_data()), content_type="application/json")
    assert response.status_code == 403


def test_outside_its_users_scope_a_token_finds_nothing(admin_client, integration_user):
    machine = bearer(issue(admin_client, integration_user))
    other = Household.objects.filter(village__code__startswith="140981").first()
    assert machine.get(f"/api/households/{other.household_no}").status_code == 404
    assert machine.get("/api/regions/140981000000/rollup").status_code == 404


@pytest.mark.parametrize("header, reason", [
    ("Bearer chk_not-a-real-token", "令牌不存在"),
    ("Bearer 12345", "格式不正确"),
    ("Basic Z3JpZDpzeW5j", "请求头应为"),
])
def test_malformed_or_unknown_tokens_answer_401_and_are_logged(header, reason):
    response = Client(headers={"Authorization": header}).get("/api/households")
    assert response.status_code == 401 and reason in response.json()["detail"]
    assert AuditEvent.objects.filter(action="api_refused", detail__contains=reason,
                                     target="GET /api/households").exists()


def test_an_expired_token_answers_401_and_is_logged(admin_client, integration_user):
    token = issue(admin_client, integration_user, days="1")
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = bearer(token).get("/api/households")
    assert response.status_code == 401 and "已过期" in response.json()["detail"]
    assert AuditEvent.objects.filter(action="api_refused", detail__contains="令牌已过期").exists()
    assert not AuditEvent.objects.filter(action="api_call").exists()


def test_a_revoked_token_answers_401_at_once(admin_client, integration_user):
    token = issue(admin_client, integration_user)
    machine = bearer(token)
    assert machine.get("/api/regions").status_code == 200
    row = ApiToken.objects.get()
    admin_client.post(f"/accounts/tokens/{row.pk}/revoke/")
    response = machine.get("/api/regions")
    assert response.status_code == 401 and "已吊销" in response.json()["detail"]
    assert "已吊销" in admin_client.get(f"/accounts/users/{integration_user.pk}/tokens/").content.decode()
    assert AuditEvent.objects.filter(action="api_token", detail__contains="吊销").exists()


def test_each_token_has_a_rate_limit(admin_client, integration_user, settings):
    settings.CLEANHEAT_API_TOKEN_RATE_PER_MINUTE = 3
    machine = bearer(issue(admin_client, integration_user))
    answers = [machine.get("/api/regions").status_code for _ in range(5)]
    if answers[:3] != [200, 200, 200]:  # the minute turned over during the calls: once more
        answers = [machine.get("/api/regions").status_code for _ in range(5)]
    assert answers[-1] == 429
    refused = machine.get("/api/regions")
    assert refused.status_code == 429 and "每分钟最多3次" in refused.json()["detail"]
    assert 0 < int(refused["Retry-After"]) <= 60
    other = bearer(issue(admin_client, integration_user, name="第二个对接"))
    assert other.get("/api/regions").status_code == 200             # per token, not per user
    assert AuditEvent.objects.filter(action="api_refused", detail__contains="超过每分钟3次").count() >= 1

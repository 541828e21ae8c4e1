import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone

from cleanheat.accounts.roles import ROLES
from cleanheat.audit.models import AuditEvent
from cleanheat.ledger import services

from .conftest import PASSWORD, make_user
from .factories import household_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def household(city_admin):
    data = household_data(phone="13812345678", bank_account="6217000012345678")
    return services.create_household(data, user=city_admin), data


# ---- personal data -------------------------------------------------------------------------

def test_identifiers_are_encrypted_at_rest_and_unique_through_the_keyed_hash(household, city_admin):
    h, data = household
    with connection.cursor() as cur:
        cur.execute("SELECT * FROM ledger_household WHERE id = %s", [h.pk])
        raw = " ".join(str(v) for v in cur.fetchone())
    for secret in (data["id_number"], "13812345678", "6217000012345678"):
        assert secret not in raw
    assert h.bank_account_masked == "6217********5678"
    with pytest.raises(Exception, match="两户户主"):
        services.create_household(household_data(id_number=data["id_number"], county="140922"), user=city_admin)


@pytest.mark.parametrize("role", sorted(ROLES))
def test_masking_and_reveal_buttons_per_role(client, household, role):
    h, data = household
    user = make_user(f"r_{role}", "140902101201"[:ROLES[role].scope_level] if ROLES[role].scope_level > 6 else
                     "140902" if ROLES[role].scope_level == 6 else "1409", role=role)
    if not h.village_id.startswith(user.region_scope):
        services.update_household(h, {"village": user.region_scope.ljust(12, "0")[:9] + "201"}, user=None)
    client.force_login(user)
    page = client.get(f"/households/{h.household_no}/").content.decode()
    perms = ROLES[role].permissions
    assert data["id_number"] not in page and "13812345678" not in page and "6217000012345678" not in page
    assert (h.id_number_masked in page) == ("pii.see_id" in perms)
    assert "138****5678" in page
    assert ('name="field" value="id_number"' in page) == ("pii.reveal_id" in perms)
    assert ('name="field" value="phone"' in page) == ("pii.reveal_phone" in perms)
    assert ("变更记录" in page) == ("ledger.history" in perms)


def test_reveal_needs_a_reason_returns_one_value_and_is_logged(client, household):
    h, data = household
    clerk = make_user("reveal_clerk", "140902", role="county_clerk")
    client.force_login(clerk)
    url = f"/households/{h.household_no}/reveal/"
    refused = client.post(url, {"field": "id_number", "reason": " "}).content.decode()
    assert "事由" in refused and data["id_number"] not in refused
    assert not AuditEvent.objects.filter(action="pii_reveal").exists()
    shown = client.post(url, {"field": "id_number", "reason": "核对补贴申请"}).content.decode()
    assert data["id_number"] in shown and "13812345678" not in shown
    event = AuditEvent.objects.get(action="pii_reveal")
    assert (event.user, event.target, event.region_code) == (clerk, h.household_no, h.village_id)
    assert "核对补贴申请" in event.detail and "身份证号" in event.detail and event.ip == "127.0.0.1"


def test_reveal_without_the_permission_is_refused_and_logged(client, household):
    h, data = household
    client.force_login(make_user("viewer", "1409", role="city_viewer"))
    response = client.post(f"/households/{h.household_no}/reveal/", {"field": "id_number", "reason": "好奇"})
    assert response.status_code == 403 and data["id_number"] not in response.content.decode()
    assert AuditEvent.objects.filter(action="denied", username="viewer").exists()


def test_api_hides_the_id_number_from_roles_that_do_not_need_it(client, household):
    h, _ = household
    client.force_login(make_user("repair", "140902", role="vendor_repair"))
    body = client.get(f"/api/households/{h.household_no}").json()
    assert body["id_number"] == "" and body["phone"] == "138****5678"
    assert client.patch(f"/api/households/{h.household_no}", "{}", content_type="application/json").status_code == 403


# ---- login security ------------------------------------------------------------------------

def login(client, username, password):
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_lockout_after_repeated_failures_and_administrator_unlock(client, city_admin):
    user = make_user("locky", "140902", role="county_clerk")
    for _ in range(settings.LOGIN_MAX_FAILURES):
        page = login(client, "locky", "wrong-password").content.decode()
        assert "用户名或密码错误" in page and "再错" not in page
    page = login(client, "locky", PASSWORD).content.decode()  # right password, paused from this address
    assert "用户名或密码错误" in page and "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="lockout", target="locky @ 127.0.0.1").count() == 1
    assert AuditEvent.objects.filter(action="login_failed", username="locky").count() == settings.LOGIN_MAX_FAILURES + 1

    admin = Client_for(city_admin)
    admin.post(f"/accounts/users/{user.pk}/unlock/")
    assert AuditEvent.objects.filter(action="unlock", target="locky @ 127.0.0.1", user=city_admin).exists()
    assert login(client, "locky", PASSWORD).status_code == 302


def Client_for(user):
    from django.test import Client
    c = Client()
    c.force_login(user)
    return c


def test_session_expires_after_inactivity(client, county_clerk):
    assert login(client, "t_xinfu", PASSWORD).status_code == 302
    assert client.get("/households/").status_code == 200
    session = Session.objects.get(session_key=client.session.session_key)
    assert (session.expire_date - timezone.now()).total_seconds() <= settings.SESSION_COOKIE_AGE
    session.expire_date = timezone.now() - timezone.timedelta(seconds=1)  # idle past the limit
    session.save()
    response = client.get("/households/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


def test_first_login_forces_a_password_change_with_strength_rules(client):
    make_user("newbie", "140902", role="county_clerk", must_change_password=True)
    assert login(client, "newbie", PASSWORD).status_code == 302
    response = client.get("/households/")
    assert response.status_code == 302 and response.url == "/accounts/password/"
    assert client.get("/api/households").status_code == 403
    weak = client.post("/accounts/password/", {"old_password": PASSWORD, "new_password1": "abcdefghijk",
                                                "new_password2": "abcdefghijk"}).content.decode()
    assert "3类" in weak
    strong = "Qingjie-Heat-2026"
    assert client.post("/accounts/password/", {"old_password": PASSWORD, "new_password1": strong,
                                                "new_password2": strong}).status_code == 302
    assert client.get("/households/").status_code == 200
    assert AuditEvent.objects.filter(action="password_change", username="newbie").exists()


def test_csrf_is_enforced_on_forms_and_the_api(household):
    from django.test import Client
    h, _ = household
    c = Client(enforce_csrf_checks=True)
    c.force_login(make_user("csrf", "140902", role="county_admin"))
    assert c.post(f"/households/{h.household_no}/archive/", {"reason": "x"}).status_code == 403
    assert c.post("/api/households", "{}", content_type="application/json").status_code == 403
    h.refresh_from_db()
    assert not h.archived


# ---- user administration and audit -------------------------------------------------------------

def test_county_admin_manages_only_their_county(client):
    admin = make_user("xf_admin", "140902", role="county_admin")
    other = make_user("yp_clerk", "140981", role="county_clerk")
    client.force_login(admin)
    assert "yp_clerk" not in client.get("/accounts/users/").content.decode()
    assert client.get(f"/accounts/users/{other.pk}/").status_code == 404
    for bad, field in [({"region_scope": "140981"}, "管辖范围"), ({"role": "city_admin"}, "不能授予"),
                       ({"region_scope": "1409", "role": "county_clerk"}, "管辖范围")]:
        form = {"username": "new_one", "full_name": "新人", "role": "township_clerk",
                "region_scope": "140902101", "is_active": "on", **bad}
        assert field in client.post("/accounts/users/new/", form).content.decode()
    response = client.post("/accounts/users/new/", {"username": "new_one", "full_name": "新人", "role": "township_clerk",
                                                   "region_scope": "140902101", "is_active": "on"}, follow=True)
    assert "初始密码" in response.content.decode()
    from cleanheat.accounts.models import User
    created = User.objects.get(username="new_one")
    assert created.must_change_password and created.role == "township_clerk"
    client.post(f"/accounts/users/{created.pk}/", {"username": "new_one", "full_name": "新人", "role": "village_clerk",
                                                   "region_scope": "140902101201", "is_active": "on"})
    change = AuditEvent.objects.get(action="permission_change", target="new_one")
    assert "township_clerk" in change.detail and "village_clerk" in change.detail and change.user == admin


def test_audit_log_is_scoped_filterable_exportable_and_append_only(client, household):
    county_admin = make_user("aud_admin", "140902", role="county_admin")
    event = AuditEvent.objects.create(action="login", username="someone_else", region_code="140981")
    client.force_login(county_admin)
    services.reveal(household[0], "phone", user=county_admin, reason="联系维修")
    page = client.get("/audit/", {"action": "pii_reveal"}).content.decode()
    assert "联系维修" in page and "someone_else" not in page
    csv_text = b"".join(client.get("/audit/export.csv").streaming_content).decode("utf-8-sig")
    assert csv_text.startswith("时间,用户名") and "联系维修" in csv_text and "someone_else" not in csv_text
    assert AuditEvent.objects.filter(action="export", user=county_admin).exists()
    with pytest.raises(ValueError):
        event.detail = "tampered"
        event.save()
    with pytest.raises(ValueError):
        event.delete()


def test_deploy_check_passes_with_production_settings():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "cleanheat.settings_production",
           "CLEANHEAT_SECRET_KEY": "k" * 20 + "Zq8#Lp2@vX9!rT5$mN3&bW7*cY1^dF6%hJ4",
           "CLEANHEAT_PII_KEY": "test-pii-key", "CLEANHEAT_ALLOWED_HOSTS": "heat.example.gov.cn",
           # production refuses to start without a database named; the check itself opens none
           "DATABASE_URL": os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/cleanheat"}
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=Path(__file__).resolve().parents[1], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout

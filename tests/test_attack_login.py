"""Finding 6 of the attack (issue 12): login failures tell nothing, pause the address that keeps
failing rather than the account, and show up where the city's security administrators look."""
import re

import pytest
from django.conf import settings
from django.contrib.auth.hashers import MD5PasswordHasher
from django.test import Client

from cleanheat.accounts.models import LoginThrottle
from cleanheat.audit.models import AuditEvent

from .conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db

ATTACKER, OFFICE = "10.9.8.7", "10.1.1.20"


class CountingHasher(MD5PasswordHasher):
    """Fast (these tests log in often) and counts how often a password is hashed."""
    algorithm = "counted_md5"
    calls = 0

    def encode(self, password, salt):
        CountingHasher.calls += 1
        return super().encode(password, salt)


@pytest.fixture(autouse=True)
def counting_hasher(settings):
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]


def login(client, username, password, address=ATTACKER):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def refusal(username, password, address=ATTACKER):
    """What a failed login looks like from outside: status, error list, passwords hashed."""
    CountingHasher.calls = 0
    response = login(Client(), username, password, address)
    errors = re.findall(r'<ul class="errorlist[^"]*">(.*?)</ul>', response.content.decode(), re.S)
    return response.status_code, errors, CountingHasher.calls


def logged_in(client):
    return "_auth_user_id" in client.session


def fail_until_paused(username, address=ATTACKER):
    for _ in range(settings.LOGIN_MAX_FAILURES):
        login(Client(), username, "wrong-Passw0rd!", address)


def test_every_failure_answers_the_same_and_hashes_the_password_once(county_clerk):
    make_user("retired", "140902", is_active=False)
    fail_until_paused("t_xinfu", OFFICE)
    answers = {
        "unknown user": refusal("no_such_user", "wrong-Passw0rd!"),
        "wrong password": refusal("t_xinfu", "wrong-Passw0rd!"),
        "inactive": refusal("retired", PASSWORD),
        "paused, right password": refusal("t_xinfu", PASSWORD, OFFICE),
    }
    status, errors, hashed = answers["unknown user"]
    assert status == 200 and errors and "用户名或密码错误" in errors[0] and hashed == 1
    assert all(answer == answers["unknown user"] for answer in answers.values()), answers


def test_failures_from_one_address_do_not_keep_the_user_out_from_another(city_admin):
    fail_until_paused("t_city", ATTACKER)
    client = Client()
    assert login(client, "t_city", PASSWORD, OFFICE).status_code == 302 and logged_in(client)


def test_failures_pause_that_username_from_that_address(county_clerk):
    fail_until_paused("t_xinfu", ATTACKER)
    client = Client()
    login(client, "t_xinfu", PASSWORD, ATTACKER)
    assert not logged_in(client)
    event = AuditEvent.objects.get(action="lockout", target=f"t_xinfu @ {ATTACKER}")
    assert event.region_code == "140902" and event.ip == ATTACKER


def test_many_usernames_from_one_address_pause_the_address(settings, county_clerk):
    settings.LOGIN_MAX_FAILURES_PER_ADDRESS = settings.LOGIN_MAX_FAILURES + 1
    for n in range(settings.LOGIN_MAX_FAILURES_PER_ADDRESS):
        login(Client(), f"guess{n}", "wrong-Passw0rd!")  # below the per-username limit every time
    assert not AuditEvent.objects.filter(action="lockout", username__startswith="guess").exists()
    paused, elsewhere = Client(), Client()
    login(paused, "t_xinfu", PASSWORD, ATTACKER)
    assert not logged_in(paused)
    login(elsewhere, "t_xinfu", PASSWORD, OFFICE)
    assert logged_in(elsewhere)
    assert AuditEvent.objects.filter(action="lockout", target=ATTACKER, region_code="1409").count() == 1


def test_many_addresses_against_one_account_alert_without_locking_it(settings, city_admin):
    settings.LOGIN_ALERT_ADDRESSES = 3
    for n in range(settings.LOGIN_ALERT_ADDRESSES):
        login(Client(), "t_city", "wrong-Passw0rd!", f"10.7.0.{n + 1}")
    alert = AuditEvent.objects.get(action="login_alert", target="t_city")
    assert alert.region_code == "1409" and "仅告警" in alert.detail
    client = Client()
    assert login(client, "t_city", PASSWORD, OFFICE).status_code == 302 and logged_in(client)


def test_a_pause_is_shown_to_the_city_auditor_who_can_lift_it(city_admin, county_clerk):
    fail_until_paused("t_xinfu")
    auditor = Client()
    auditor.force_login(city_admin)
    page = auditor.get("/audit/").content.decode()
    notice = page[page.index('id="login-pauses"'):page.index("</section>", page.index('id="login-pauses"'))]
    assert "1 项登录暂停" in notice and "t_xinfu" in notice and ATTACKER in notice
    assert "<td>登录暂停</td>" in page  # the event in the audit log below the notice
    lift = re.search(r'action="(/accounts/login-pauses/\d+/lift/)"', notice).group(1)
    assert auditor.post(lift).status_code == 302
    assert 'id="login-pauses"' not in auditor.get("/audit/").content.decode()
    assert AuditEvent.objects.filter(action="unlock", user=city_admin, target=f"t_xinfu @ {ATTACKER}").exists()
    client = Client()
    assert login(client, "t_xinfu", PASSWORD, ATTACKER).status_code == 302 and logged_in(client)


def test_a_county_administrator_lifts_pauses_in_their_county_only(city_admin, county_clerk):
    fail_until_paused("t_xinfu")
    fail_until_paused("t_city")
    county_admin = Client()
    county_admin.force_login(make_user("xf_sec", "140902", role="county_admin"))
    page = county_admin.get("/audit/").content.decode()
    assert "1 项登录暂停" in page and "t_xinfu" in page and "t_city @" not in page
    pause_of_the_city_admin = AuditEvent.objects.get(action="lockout", username="t_city")
    assert pause_of_the_city_admin.region_code == "1409"
    outside = LoginThrottle.objects.get(username="t_city")
    assert county_admin.post(f"/accounts/login-pauses/{outside.pk}/lift/").status_code == 404
    assert not AuditEvent.objects.filter(action="unlock").exists()


def test_the_unlock_button_on_a_user_lifts_the_pauses_on_their_name(city_admin, county_clerk):
    fail_until_paused("t_xinfu")
    admin = Client()
    admin.force_login(city_admin)
    assert "登录暂停" in admin.get("/accounts/users/", {"q": "t_xinfu"}).content.decode()
    assert ATTACKER in admin.get(f"/accounts/users/{county_clerk.pk}/").content.decode()
    admin.post(f"/accounts/users/{county_clerk.pk}/unlock/")
    assert AuditEvent.objects.filter(action="unlock", user=city_admin, target=f"t_xinfu @ {ATTACKER}").exists()
    client = Client()
    assert login(client, "t_xinfu", PASSWORD, ATTACKER).status_code == 302 and logged_in(client)


def test_unknown_usernames_are_seen_by_the_city_auditor_not_a_county_admin(city_admin):
    typed = "zhangsan_guess_" + "x" * 40
    login(Client(), typed, "wrong-Passw0rd!")
    city, county = Client(), Client()
    city.force_login(city_admin)
    county.force_login(make_user("xf_sec", "140902", role="county_admin"))
    kept = typed[:30]
    city_page = city.get("/audit/", {"action": "login_failed"}).content.decode()
    assert kept in city_page and typed not in city_page and ATTACKER in city_page
    assert "用户名不存在" in city_page
    assert kept not in county.get("/audit/", {"action": "login_failed"}).content.decode()


def test_the_source_address_comes_from_a_proxy_header_only_when_configured(settings, county_clerk):
    headers = {"HTTP_X_REAL_IP": "203.0.113.9"}
    Client().post("/accounts/login/", {"username": "t_xinfu", "password": "x"}, REMOTE_ADDR=ATTACKER, **headers)
    settings.CLIENT_IP_HEADER = "HTTP_X_REAL_IP"
    Client().post("/accounts/login/", {"username": "t_xinfu", "password": "y"}, REMOTE_ADDR=ATTACKER, **headers)
    addresses = list(AuditEvent.objects.filter(action="login_failed", username="t_xinfu").order_by("id")
                     .values_list("ip", flat=True))
    assert addresses == [ATTACKER, "203.0.113.9"]

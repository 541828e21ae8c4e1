"""Finding 9 of the attack (issue 12): security headers and the API schema behind login."""
import re
from pathlib import Path

import pytest
from django.conf import settings

from cleanheat.ledger import services

from .conftest import make_user
from .factories import household_data

pytestmark = pytest.mark.django_db

TEMPLATE_ROOT = Path(settings.BASE_DIR) / "cleanheat"
SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)
HANDLER = re.compile(r"<[^>]*\s(on[a-z]+|hx-on[^\s=]*|data-hx-on[^\s=]*)\s*=", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style\b|<[^>]*\sstyle\s*=", re.IGNORECASE)


def csp_directives(response):
    header = response.headers.get("Content-Security-Policy", "")
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def inline_code(html):
    """What the CSP would block: inline scripts, event handler attributes, inline styles."""
    found = [body.strip()[:60] for attrs, body in SCRIPT.findall(html)
             if body.strip() and "application/json" not in attrs.lower()]
    found += [f"{name}=" for name in HANDLER.findall(html)]
    found += INLINE_STYLE.findall(html)
    return found


@pytest.fixture
def household(city_admin):
    return services.create_household(household_data(), user=city_admin)


def test_every_page_carries_a_strict_content_security_policy(admin_client, household):
    for url in ("/", f"/households/{household.household_no}/", "/accounts/login/"):
        policy = csp_directives(admin_client.get(url))
        assert policy, url
        scripts = policy.get("script-src", policy.get("default-src"))
        assert policy["default-src"] == ["'self'"]
        assert scripts and not {"'unsafe-inline'", "'unsafe-eval'"} & set(scripts)
        assert "'unsafe-inline'" not in policy.get("style-src", policy["default-src"])
        assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'self'"]
        assert policy["frame-ancestors"] == ["'none'"] and policy["form-action"] == ["'self'"]


def test_no_template_has_inline_scripts_handlers_or_styles():
    # the scanner itself sees what it must refuse
    assert len(inline_code('<script>alert(1)</script><a onclick="x()"><b hx-on:click="y()" style="a:b">')) == 4
    assert not inline_code('<script src="/static/a.js"></script><script type="application/json">{"a": 1}</script>')

    templates = sorted(TEMPLATE_ROOT.rglob("*.html"))
    assert len(templates) > 30
    offending = {str(t.relative_to(TEMPLATE_ROOT)): inline_code(t.read_text()) for t in templates}
    assert {name: found for name, found in offending.items() if found} == {}


def test_pages_fragments_api_answers_and_downloads_are_not_stored(client, household):
    clerk = make_user("nostore_clerk", "140902", role="county_clerk")
    client.force_login(clerk)
    no = household.household_no
    responses = {
        "list": client.get("/households/"),
        "detail": client.get(f"/households/{no}/"),
        "reveal fragment": client.post(f"/households/{no}/reveal/", {"field": "phone", "reason": "联系维修"},
                                       HTTP_HX_REQUEST="true"),
        "api household": client.get(f"/api/households/{no}"),
    }
    job_url = client.get("/households/export/", {"path": household.heating_path}).url
    client.get(job_url)
    responses["export download"] = client.get(job_url + "result.xlsx")

    assert household_data()["phone"] in responses["reveal fragment"].content.decode()
    for name, response in responses.items():
        assert response.status_code == 200, name
        assert "no-store" in response.headers.get("Cache-Control", ""), name
    # static files hold no personal data and stay cacheable
    static = client.get("/static/css/app.css")
    assert static.status_code == 200 and "no-store" not in static.headers.get("Cache-Control", "")


def test_openapi_schema_and_docs_need_a_login(client, county_clerk):
    assert client.get("/api/openapi.json").status_code == 401
    docs = client.get("/api/docs")
    assert docs.status_code == 302 and docs.url.startswith("/accounts/login/")

    client.force_login(county_clerk)
    assert "/api/households" in client.get("/api/openapi.json").json()["paths"]
    page = client.get("/api/docs")
    assert page.status_code == 200
    # Swagger UI from the ninja package's own static files: the CSP allows no CDN
    assert "/static/ninja/swagger-ui-bundle.js" in page.content.decode()
    assert not inline_code(page.content.decode())

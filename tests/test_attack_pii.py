"""Issue 12, finding 4: full ID numbers and phones stay out of URLs, pages, logs, job rows and
audit details, and searching by them still finds the household."""
import io
import json
import logging
import re
import sys
from urllib.parse import urlsplit

import pytest
from django.core.servers.basehttp import WSGIRequestHandler
from python_calamine import CalamineWorkbook

from cleanheat.audit.models import AuditEvent
from cleanheat.audit.services import record
from cleanheat.jobs.models import Job
from cleanheat.ledger import identity, services
from cleanheat.logmask import MaskIdentifiers
from cleanheat.regions.models import Region

from .conftest import make_user
from .factories import household_data, new_id_number
from .sheets import TEMPLATE_HEADER, template_row, write_sheet

FULL_ID = re.compile(r"(?<!\d)\d{17}[\dX](?!\d)")
FULL_PHONE = re.compile(r"(?<!\d)1\d{10}(?!\d)")
PHONE = "13512349876"


def assert_clean(text, where):
    assert not FULL_ID.search(text), (where, FULL_ID.search(text))
    assert not FULL_PHONE.search(text), (where, FULL_PHONE.search(text))


@pytest.fixture
def resident(db, city_admin):
    data = household_data(householder_name="隐私测试", phone=PHONE)
    return services.create_household(data, user=city_admin), data


# ---- the pure masking function ----------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("GET /households/?q=14090219700101901X HTTP/1.1", "GET /households/?q=140902********901X HTTP/1.1"),
    ("q=14090219700101901x&page=2", "q=140902********901x&page=2"),
    ("Not Found: /households/140902700101901/", "Not Found: /households/140902*****1901/"),
    ("phone=13512349876;", "phone=135****9876;"),
    ("+8613512349876", "+86135****9876"),
    ("６２１７００１２３４５６７８９０１２", "６２１７００********９０１２"),  # full-width bank card
    ("户 1409220000001 区划 140922000000 合同 140922-2022-CG-013", None),  # not personal: unchanged
    ("1351234987", None), ("135123498765", None),  # 10 and 12 digits are not phones
    ("已是 140902********901X", None),  # already masked
])
def test_mask_identifiers(text, expected):
    assert identity.mask_identifiers(text) == (expected if expected is not None else text)


@pytest.mark.parametrize("term, personal", [
    ("14090219700101901X", True), ("１３５ １２３４ ９８７６", True), ("+86 135-1234-9876", True),
    ("140902700101901", True), ("隐私测试", False), ("1409220000001", False), ("140922", False), ("", False),
])
def test_which_search_terms_are_personal(term, personal):
    assert identity.looks_like_identifier(term) is personal


def test_log_filter_masks_message_arguments_and_tracebacks():
    try:
        raise ValueError(f"身份证号“{new_id_number()}”校验位不正确")
    except ValueError:
        record = logging.LogRecord("cleanheat", logging.ERROR, __file__, 1, "查询 %s 失败", (PHONE,),
                                   exc_info=sys.exc_info())
    assert MaskIdentifiers().filter(record)
    text = logging.Formatter().format(record)
    assert "查询 135****9876 失败" in text and "ValueError" in text
    assert_clean(text, "record")


# ---- the household list page ------------------------------------------------------------------

def search_like_the_form(client, term):
    """Submit the list's search form the way its HTML says (method, fields), following redirects."""
    page = client.get("/households/").content.decode()
    form = re.search(r'<form method="(\w+)" class="filters">(.*?)</form>', page, re.S)
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form.group(2)))
    fields["q"] = term
    if form.group(1).lower() == "get":
        response = client.get("/households/", fields, follow=True)
        return response, f"/households/?q={term}"
    response = client.post("/households/", fields, follow=True)
    return response, response.redirect_chain[-1][0]


def test_search_by_id_or_phone_keeps_the_number_out_of_the_url_and_the_page(admin_client, resident):
    h, data = resident
    for term in (data["id_number"], PHONE):
        response, url = search_like_the_form(admin_client, term)
        page = response.content.decode()
        assert h.household_no in page and "共 1 户" in page, term  # the search found the household
        assert term not in url and "s=" in url
        assert_clean(page, term)  # search box, export link, language form's `next` …
        export = re.search(r'id="export-list" href="([^"]+)"', page) or \
            re.search(r'href="([^"]+)" id="export-list"', page)
        assert "s=" in export.group(1)
        # the same URL again (a reload, a bookmark within the session) gives the same result
        assert h.household_no in admin_client.get(url).content.decode()


def test_an_old_link_with_the_number_in_the_query_is_exchanged_for_a_token(admin_client, resident):
    h, data = resident
    response = admin_client.get("/households/", {"q": data["id_number"], "path": h.heating_path})
    assert response.status_code in (302, 303)
    target = response.url
    assert data["id_number"] not in target and f"path={h.heating_path}" in target
    page = admin_client.get(target).content.decode()
    assert h.household_no in page and "共 1 户" in page
    assert_clean(page, "page")
    for term in ("隐私测试", h.household_no):  # names and household numbers stay in the URL
        response = admin_client.get("/households/", {"q": term})
        assert response.status_code == 200 and h.household_no in response.content.decode()


def test_pagination_keeps_the_token(admin_client, resident, city_admin):
    h, data = resident
    # enough households with the same phone for a second page
    for _ in range(50):
        services.create_household(household_data(phone=PHONE), user=city_admin)
    response, url = search_like_the_form(admin_client, PHONE)
    page = response.content.decode()
    assert "共 51 户" in page
    next_link = re.search(r'href="(\?[^"]*page=2)"', page).group(1).replace("&amp;", "&")
    assert "s=" in next_link and PHONE not in next_link
    second = admin_client.get("/households/" + next_link).content.decode()
    assert "第 2 / 2 页" in second and len(re.findall(r'href="/households/\d{13}/"', second)) == 1


def test_an_expired_or_foreign_token_finds_nothing_and_says_so(admin_client, resident):
    page = admin_client.get("/households/", {"s": "not-a-token"}).content.decode()
    assert "共 0 户" in page and "请重新输入" in page


# ---- the API ----------------------------------------------------------------------------------

def test_api_searches_by_id_or_phone_with_a_post_and_refuses_them_in_the_query(admin_client, resident):
    h, data = resident
    for term in (data["id_number"], PHONE):
        refused = admin_client.get("/api/households", {"q": term})
        assert refused.status_code == 400 and "POST /api/households/search" in refused.json()["detail"]
        found = admin_client.post("/api/households/search", json.dumps({"q": term}),
                                  content_type="application/json")
        assert found.status_code == 200, found.content
        assert [i["household_no"] for i in found.json()["items"]] == [h.household_no]
        assert_clean(found.content.decode(), term)
    by_name = admin_client.get("/api/households", {"q": "隐私测试"}).json()["items"]
    assert h.household_no in [i["household_no"] for i in by_name]


# ---- exports, job rows and audit details ------------------------------------------------------

def test_export_with_a_search_term_stores_only_masked_terms(admin_client, resident):
    h, data = resident
    for term in (data["id_number"], PHONE):
        response, _ = search_like_the_form(admin_client, term)
        link = re.search(r'href="([^"]+)" id="export-list"', response.content.decode()).group(1)
        job_url = admin_client.get(link.replace("&amp;", "&")).url
        job = Job.objects.get(pk=urlsplit(job_url).path.split("/")[2])
        assert job.status == "done" and job.counts == {"rows": 1}  # filtered by the full term
        sheet = admin_client.get(job_url + "result.xlsx")
        rows = CalamineWorkbook.from_filelike(io.BytesIO(b"".join(sheet.streaming_content))) \
            .get_sheet_by_index(0).to_python()
        assert [r[0] for r in rows[1:]] == [h.household_no]
        assert term not in json.dumps(job.params) and "*" in job.params["q"]
    exports = AuditEvent.objects.filter(action="export", target="居民用户清单")
    assert exports.count() == 2
    for job in Job.objects.all():
        assert_clean(json.dumps(job.params, ensure_ascii=False) + job.message, f"job {job.pk}")
    for event in AuditEvent.objects.all():
        assert_clean(event.target + event.detail, f"audit {event.pk}")


def test_import_problems_and_audit_details_are_masked(db, client, tmp_path):
    clerk = make_user("pii_clerk", "140902", role="county_clerk")
    client.force_login(clerk)
    village = Region.objects.filter(level=4, code__startswith="140902").order_by("code").first()
    good = new_id_number("140902")
    bad_check = good[:-1] + ("0" if good[-1] != "0" else "1")
    rows = [template_row(village_code=village.code, householder_name="掩码测试", id_number=bad_check,
                         phone=PHONE, heated_area="90", structure="砖混", original_facility="土暖气",
                         heating_path="集中供热", household_size="3"),
            template_row(village_code=village.code, householder_name="掩码测试二", id_number=new_id_number("140902"),
                         phone="12512349876", heated_area="90", structure="砖混", original_facility="土暖气",
                         heating_path="集中供热", household_size="3")]
    sheet = write_sheet(tmp_path / "掩码.xlsx", TEMPLATE_HEADER, rows)
    with open(sheet, "rb") as fh:
        job_url = client.post("/imports/", {"file": fh}).url
    job = Job.objects.get(pk=urlsplit(job_url).path.split("/")[2])
    assert job.counts["refused"] == 2 and any("校验位" in p for p in job.problems)  # the errors are there
    assert_clean(json.dumps(job.problems, ensure_ascii=False) + job.message, "import job")
    assert_clean(client.get(job_url).content.decode(), "job page")


def test_audit_details_are_masked_whoever_writes_them(resident):
    _, data = resident
    event = record("export", target=f"命令行 {data['id_number']}", detail=str({"q": PHONE}))
    event.refresh_from_db()
    assert_clean(event.target + event.detail, "record")
    assert "135****9876" in event.detail


# ---- logs -------------------------------------------------------------------------------------

def configured_handlers():
    """The handlers settings.LOGGING gives the root logger and runserver's access log."""
    return [h for name in ("", "django.server") for h in logging.getLogger(name).handlers
            if h.name in ("console", "django.server")]


def test_request_access_and_application_logs_never_carry_a_full_id_or_phone(admin_client, resident, caplog):
    h, data = resident
    caplog.set_level(logging.INFO)
    server = logging.getLogger("django.server")
    handlers, written = configured_handlers(), io.StringIO()
    old_streams = [handler.setStream(written) for handler in handlers]
    server.addHandler(caplog.handler)
    try:
        # a 404 whose URL carries the ID: django.request logs "Not Found: <path>"
        assert admin_client.get(f"/households/{data['id_number']}/").status_code == 404
        # the API's answer to a number in the query string
        admin_client.get("/api/households", {"q": data["id_number"]})
        # runserver's access line for a request with the numbers in its URL
        line = WSGIRequestHandler.__new__(WSGIRequestHandler)
        line.request, line.client_address = None, ("127.0.0.1", 5000)
        line.requestline = f"GET /households/?q={data['id_number']}&phone={PHONE} HTTP/1.1"
        line.log_request(200, 1234)
        # the application's own loggers and the root logger
        logging.getLogger("cleanheat.imports.jobs").warning("任务出错：身份证号“%s”", data["id_number"])
        logging.getLogger().warning("电话 %s", PHONE)
    finally:
        server.removeHandler(caplog.handler)
        for handler, stream in zip(handlers, old_streams):
            handler.setStream(stream)
    captured = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert "Not Found" in captured and "GET /households/?q=" in captured and "电话" in captured
    assert identity.mask_id_number(data["id_number"]) in captured
    assert_clean(captured, "caplog")
    # what the configured handlers write to the server's log
    assert {h.name for h in handlers} == {"console", "django.server"}
    output = written.getvalue()
    assert "Not Found" in output and "GET /households/?q=" in output and "任务出错" in output
    assert_clean(output, "log output")

"""Funds, payment batches and the clearing (资金到位、“一卡通”发放、清算), worked by hand: a county
approves only within its funds (or a recorded override of the city); a batch's bank file round trip
(paid, failed with the bank's reason and back in the queue, never paid twice, a recovery); bad
return files refused naming the row and cell with nothing written; the clearing adds up to its lines."""
import hashlib
import io
import json
import tempfile
from datetime import timedelta

import pytest
import xlsxwriter
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404

from cleanheat.audit.models import AuditEvent
from cleanheat.sheets.reader import read_rows, read_sheets
from cleanheat.regions.models import Region
from cleanheat.subsidies import clearing, funds, notice, payments, services
from cleanheat.subsidies.models import (
    BatchStatus,
    Entitlement,
    LineStatus,
    NoticeLine,
    PaymentBatch,
    PaymentLine,
    Status,
)

from .conftest import make_user
from .factories import new_id_number
from .test_subsidies import TODAY, YEAR, accepted_household, finance, policy  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db
CARDS = ["6217000011112222333", "6228480044445555666"]
IDS = [new_id_number(born="19600115"), new_id_number(born="19700215")]


def approved_household(n, county="140902", user=None):
    """An accepted household with a 8,000 yuan equipment line (中央 2,400, 省级 2,400, 市级 1,600,
    县级 1,600), approved by the county's finance and on a village notice whose period is over."""
    household = accepted_household(county=county, bank_account=CARDS[n], id_number=IDS[n] if county == "140902"
                                   else None, householder_name=["张三", "李四"][n])
    services.compute_entitlements(YEAR, household.village_id)
    user = user or make_user(f"p_cf{county}{n}", county, role="county_finance")
    assert services.approve_entitlements(Entitlement.objects.filter(household=household), user=user) == 1
    noticed(household)
    return household, Entitlement.objects.get(household=household, year=YEAR)


def noticed(household):
    notice.write_notice(Region.objects.get(code=household.village_id), YEAR, TODAY - timedelta(days=30), 7)


@pytest.fixture
def two(policy):  # noqa: F811
    cf = make_user("p_cf", "140902", role="county_finance")
    return approved_household(0, user=cf), approved_household(1, user=cf), cf


def returned(content: bytes, results: dict, edit=None) -> io.BytesIO:
    """The bank's return file: the exported rows with 发放结果 and 失败原因 (results {序号: (result,
    reason)}); edit(row) may change a data row before it is written."""
    _, rows = _rows(content)
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet()
    for r, row in enumerate(rows):
        row = [("" if c is None else c) for c in row][:8]
        if r == 2:
            row += ["发放结果", "失败原因"]
        elif r > 2:
            row += list(results.get(int(row[0]), ("成功", "")))
            if edit:
                row = edit(row)
        sheet.write_row(r, 0, [str(int(c)) if isinstance(c, float) and c.is_integer() and i == 0 else
                               (f"{c:.2f}" if isinstance(c, float) else c) for i, c in enumerate(row)])
    book.close()
    out.seek(0)
    return out


def _rows(content):
    path = _tmp(content)
    return read_rows(path)


def _tmp(content) -> str:
    with tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False, dir=settings.DATA_DIR) as fh:
        fh.write(content if isinstance(content, bytes) else content.getvalue())
    return fh.name


def import_return(user, batch, content, **kw):
    return payments.import_return(user, batch.pk, _tmp(content), **kw)


# ---- funds

def test_a_county_approves_only_within_its_funds_or_the_citys_override(policy, finance):  # noqa: F811
    household = accepted_household(county="140922", bank_account=CARDS[0])
    services.compute_entitlements(YEAR, household.village_id)
    cf = make_user("p_cf922", "140922", role="county_finance")
    funds.record_fund({"county": "140922", "year": YEAR, "level": "provincial", "source": "省级清洁取暖补助资金",
                       "document_no": "晋财建〔2026〕7号", "received_on": TODAY, "amount_fen": 500_000}, user=finance)
    with pytest.raises(ValidationError) as refused:
        services.approve_entitlements(Entitlement.objects.filter(household=household), user=cf)
    assert "到位资金5,000元，已审核0元，本次审核8,000元，超出3,000元" in refused.value.messages[0]
    assert Entitlement.objects.get(household=household).status == Status.COMPUTED

    with pytest.raises(PermissionDenied):       # the county cannot allow itself
        funds.grant_override({"county": "140922", "year": YEAR, "amount_fen": 300_000, "reason": "x"}, user=cf)
    with pytest.raises(ValidationError, match="请填写允许超出资金审核的理由"):
        funds.grant_override({"county": "140922", "year": YEAR, "amount_fen": 300_000, "reason": " "}, user=finance)
    funds.grant_override({"county": "140922", "year": YEAR, "amount_fen": 300_000, "reason": "第二批资金下月到位",
                          "document_no": "忻财〔2026〕3号"}, user=finance)
    assert services.approve_entitlements(Entitlement.objects.filter(household=household), user=cf) == 1
    now = funds.standing("140922000000", YEAR)
    assert (now["received_total"], now["allowed"], now["committed"], now["room"]) == (500_000, 300_000, 800_000, 0)
    assert AuditEvent.objects.filter(action="subsidy_funds", detail__contains="理由：第二批资金下月到位").exists()


def test_a_fund_line_is_refused_field_by_field(finance):  # noqa: F811
    with pytest.raises(ValidationError) as refused:
        funds.record_fund({"county": "140999", "year": 1990, "level": "town", "source": "", "document_no": "x",
                           "received_on": None, "amount_fen": 0}, user=finance)
    errors = refused.value.message_dict
    assert errors["county"] == ["请选择本人管辖范围内的县（市、区）"] and errors["level"] == ["资金层级应为中央、省级、市级或县级"]
    assert {"year", "source", "received_on", "amount_fen"} <= set(errors)
    cf = make_user("p_cf_x", "140902", role="county_finance")
    with pytest.raises(PermissionDenied):
        funds.record_fund({"county": "140902"}, user=cf)


# ---- batches and the bank file

def test_the_bank_file_round_trip_paid_failed_requeued_never_twice_and_a_recovery(two):
    (h1, e1), (_, e2), cf = two
    batch, left_out = payments.create_batch(cf, "140902", YEAR, [e1.pk, e2.pk])
    assert (batch.line_count, batch.total_fen, left_out) == (2, 1_600_000, [])
    assert batch.number == f"140902-{YEAR}-001"

    content, filename = payments.export_bank_file(cf, batch.pk)
    assert filename.endswith(f"{batch.number}.xlsx")
    _, rows = _rows(content)
    assert rows[0][0] == "惠民惠农财政补贴资金“一卡通”发放明细表"
    assert rows[2][:5] == ["序号", "姓名", "身份证号码", "银行卡号（一卡通账号）", "发放金额（元）"]
    assert [r[1:5] for r in rows[3:]] == [["张三", IDS[0], CARDS[0], 8000.0], ["李四", IDS[1], CARDS[1], 8000.0]]
    assert rows[3][5] == "设备补贴"
    event = AuditEvent.objects.filter(action="export", target__contains=batch.number).get()
    assert event.user == cf and "2行" in event.detail and hashlib.sha256(content).hexdigest() in event.detail
    assert CARDS[0] not in event.detail

    answer = returned(content, {2: ("失败", "账户已销户")})
    assert import_return(cf, batch, answer, dry_run=True) == {"paid": 1, "failed": 1, "pending": 0, "closed": True}
    assert set(batch.lines.values_list("status", flat=True)) == {LineStatus.PENDING}    # the dry run wrote nothing
    assert import_return(cf, batch, answer) == {"paid": 1, "failed": 1, "pending": 0, "closed": True}
    batch.refresh_from_db()
    assert batch.status == BatchStatus.CLOSED
    paid, failed = batch.lines.order_by("row_no")
    assert (paid.status, failed.status, failed.reason) == (LineStatus.PAID, LineStatus.FAILED, "账户已销户")

    with pytest.raises(ValidationError, match="已关闭，不能再导入回盘文件"):
        import_return(cf, batch, answer)
    assert list(payments.queue("140902000000", YEAR).filter(pk__in=[e1.pk, e2.pk])) == [e2]     # failed: back
    with pytest.raises(ValidationError, match=f"户{h1.household_no}（张三）设备补贴：已在批次{batch.number}中发放，不能重复发放"):
        payments.create_batch(cf, "140902", YEAR, [e1.pk])
    again, _ = payments.create_batch(cf, "140902", YEAR, [e2.pk])
    assert again.number == f"140902-{YEAR}-002" and again.lines.get().entitlement_id == e2.pk

    with pytest.raises(ValidationError, match="只有已发放的明细才能追缴"):
        payments.recover(cf, failed.pk, amount_fen=100, document_no="忻府财〔2026〕9号", reason="重复享受")
    with pytest.raises(ValidationError, match="不超过已发放的8,000元"):
        payments.recover(cf, paid.pk, amount_fen=800_001, document_no="忻府财〔2026〕9号", reason="重复享受")
    payments.recover(cf, paid.pk, amount_fen=800_000, document_no="忻府财〔2026〕9号", reason="重复享受")
    paid.refresh_from_db()
    assert (paid.status, paid.recovered_fen, paid.recovered_by) == (LineStatus.RECOVERED, 800_000, cf)
    with pytest.raises(ValidationError, match="中发放并已追缴，不能再次发放"):
        payments.create_batch(cf, "140902", YEAR, [e1.pk])


def test_a_line_is_in_one_open_batch_and_paid_once_even_past_the_checks(two):
    (_, e1), (_, e2), cf = two
    first, _ = payments.create_batch(cf, "140902", YEAR, [e1.pk])
    with pytest.raises(ValidationError, match=f"已在未关闭的批次{first.number}中"):
        payments.create_batch(cf, "140902", YEAR, [e1.pk, e2.pk])
    assert PaymentBatch.objects.filter(year=YEAR).count() == 1          # nothing half-written
    line = first.lines.get()
    with pytest.raises(IntegrityError), transaction.atomic():    # the database keeps it too
        PaymentLine.objects.create(**{f.attname: getattr(line, f.attname) for f in PaymentLine._meta.concrete_fields
                                      if f.name != "id"} | {"row_no": 2})
    PaymentLine.objects.filter(pk=line.pk).update(status=LineStatus.PAID, in_open_batch=False)
    line.refresh_from_db()
    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentLine.objects.create(**{f.attname: getattr(line, f.attname) for f in PaymentLine._meta.concrete_fields
                                      if f.name != "id"} | {"row_no": 2, "in_open_batch": False})


def test_the_checks_before_money_leaves_hold_a_line_out_of_a_batch_and_a_paid_line_takes_no_objection(policy):  # noqa: F811
    cf = make_user("p_cf_c", "140902", role="county_finance")
    household, line = approved_household(0, user=cf)
    unnoticed = accepted_household(householder_name="赵六", bank_account="6217000099998888777")
    services.compute_entitlements(YEAR, unnoticed.village_id)
    services.approve_entitlements(Entitlement.objects.filter(household=unnoticed), user=cf)
    waiting = Entitlement.objects.get(household=unnoticed, year=YEAR)
    with pytest.raises(ValidationError, match=f"户{unnoticed.household_no}（赵六）设备补贴：尚未在村（社区）公示"):
        payments.create_batch(cf, "140902", YEAR, [line.pk, waiting.pk])
    assert not PaymentBatch.objects.filter(year=YEAR).exists()
    batch, left_out = payments.create_batch(cf, "140902", YEAR)
    assert list(batch.lines.values_list("entitlement_id", flat=True)) == [line.pk]
    assert left_out == [f"户{unnoticed.household_no}（赵六）设备补贴：尚未在村（社区）公示"]
    content, _ = payments.export_bank_file(cf, batch.pk)
    import_return(cf, batch, returned(content, {}))
    on_notice = NoticeLine.objects.get(household=household)
    with pytest.raises(ValidationError, match="该户补贴已发放，不能再登记公示异议"):
        notice.record_objection(cf, on_notice.pk, {"raised_by": "村民丙", "content": "该户不符合条件"})


def test_a_batch_from_the_queue_leaves_out_lines_without_a_bank_card(policy):  # noqa: F811
    cf = make_user("p_cf_q", "140902", role="county_finance")
    _, e1 = approved_household(0, user=cf)
    nocard = accepted_household(householder_name="王五")
    services.compute_entitlements(YEAR, nocard.village_id)
    services.approve_entitlements(Entitlement.objects.filter(household=nocard), user=cf)
    noticed(nocard)
    batch, left_out = payments.create_batch(cf, "140902", YEAR)
    assert list(batch.lines.values_list("entitlement_id", flat=True)) == [e1.pk]
    assert left_out == [f"户{nocard.household_no}（王五）设备补贴：未登记补贴发放账号（银行卡号）"]
    payments.cancel_batch(cf, batch.pk)
    assert payments.queue("140902000000", YEAR).filter(pk=e1.pk).exists()       # back in the queue


def test_bad_return_files_are_refused_naming_row_and_cell_with_nothing_written(two):
    (_, e1), (_, e2), cf = two
    batch, _ = payments.create_batch(cf, "140902", YEAR, [e1.pk, e2.pk])
    content, _ = payments.export_bank_file(cf, batch.pk)

    def never_sent(row):
        return [99, *row[1:]] if row[0] == 2 else row
    with pytest.raises(ValidationError) as refused:
        import_return(cf, batch, returned(content, {}, never_sent))
    assert refused.value.messages == [f"第5行A列（序号）：序号“99”不是批次{batch.number}发出的明细（本批次序号1至2）"]

    def other_amount(row):
        return [*row[:4], "7999.99", *row[5:]] if row[0] == 1 else row
    with pytest.raises(ValidationError) as refused:
        import_return(cf, batch, returned(content, {2: ("失败", "")}, other_amount))
    assert refused.value.messages == ["第4行E列（发放金额（元））：金额“7999.99”与发出的8000.00元不符",
                                      "第5行J列（失败原因）：发放失败的明细须有失败原因"]

    def other_card(row):
        return [row[0], "张四", row[2], "6217000099999999999", *row[4:]] if row[0] == 1 else row
    with pytest.raises(ValidationError) as refused:
        import_return(cf, batch, returned(content, {}, other_card))
    assert refused.value.messages == ["第4行B列（姓名）：姓名“张四”与发出的“张三”不符",
                                      "第4行D列（银行卡号）：银行卡号与发出的（6217***********2333）不符"]
    assert set(batch.lines.values_list("status", flat=True)) == {LineStatus.PENDING}
    batch.refresh_from_db()
    assert batch.status == BatchStatus.EXPORTED


def test_batches_stay_in_their_county(two):
    (_, e1), _, cf = two
    batch, _ = payments.create_batch(cf, "140902", YEAR, [e1.pk])
    other = make_user("p_cf921", "140921", role="county_finance")
    with pytest.raises(Http404):
        payments.export_bank_file(other, batch.pk)
    with pytest.raises(ValidationError, match="请选择本人管辖范围内的县"):
        payments.create_batch(other, "140902", YEAR, [e1.pk])
    with pytest.raises(PermissionDenied):
        payments.create_batch(make_user("p_city_fin", "1409", role="finance_staff"), "140902", YEAR, [e1.pk])
    assert not AuditEvent.objects.filter(action="export", target__contains=batch.number).exists()


# ---- clearing

def test_the_clearing_adds_up_to_its_lines(two, finance):  # noqa: F811
    (_, e1), (_, e2), cf = two
    funds.record_fund({"county": "140902", "year": YEAR, "level": "county", "source": "县级配套资金",
                       "document_no": "忻府政〔2026〕2号", "received_on": TODAY, "amount_fen": 123_456}, user=finance)
    batch, _ = payments.create_batch(cf, "140902", YEAR, [e1.pk, e2.pk])
    content, _ = payments.export_bank_file(cf, batch.pk)
    import_return(cf, batch, returned(content, {2: ("失败", "户名不符")}))
    paid = batch.lines.get(row_no=1)
    payments.recover(cf, paid.pk, amount_fen=100_001, document_no="追〔2026〕1号", reason="面积核减")

    table = clearing.clearing("140902000000", YEAR)
    approved = Entitlement.objects.filter(village_code__startswith="140902", year=YEAR, status=Status.APPROVED)
    assert table["total"]["committed"] == sum(approved.values_list("amount_fen", flat=True))
    for level in ("central", "provincial", "city", "county"):
        assert table[level]["committed"] == sum(approved.values_list(f"{level}_fen", flat=True))
    # paid: e1's line alone (8,000 = 2,400 + 2,400 + 1,600 + 1,600); recovered 1,000.01 split 30/30/20/20
    assert [table[lv]["paid"] for lv in ("central", "provincial", "city", "county")] == [240_000, 240_000, 160_000,
                                                                                         160_000]
    assert [table[lv]["recovered"] for lv in ("central", "provincial", "city", "county")] == [30_001, 30_000, 20_000,
                                                                                              20_000]
    assert table["total"]["paid"] == 800_000 and table["total"]["recovered"] == 100_001
    assert table["county"]["received"] == 123_456 and table["central"]["received"] == 10**10
    assert table["total"]["balance"] == 10**10 + 123_456 - 800_000 + 100_001

    book, name = clearing.export(cf, "140902", YEAR)
    sheet = read_sheets(_tmp(book))["清算表"]
    assert sheet[2][:3] == ["层级", "到位资金（元）", "已审核补贴（元）"]
    assert sheet[7][0] == "合计" and sheet[7][3] == 8000.0 and sheet[7][4] == 1000.01
    assert name.endswith("年度清洁取暖补贴资金清算表.xlsx")


# ---- pages and API

def test_the_pages_make_a_batch_give_the_bank_file_and_check_the_return(client, two):
    _, (h2, _), cf = two
    client.force_login(cf)
    page = client.get(f"/subsidies/batches/?year={YEAR}").content.decode()
    assert "组成发放批次" in page and "16,000" in page
    made = client.post("/subsidies/batches/new/", {"county": "140902000000", "year": YEAR})
    batch = PaymentBatch.objects.get(county_code="140902000000", year=YEAR)
    assert made.status_code == 302 and made["Location"] == f"/subsidies/batches/{batch.pk}/"
    page = client.get(made["Location"]).content.decode()
    assert "6217***********2333" in page and CARDS[0] not in page

    assert client.get(f"/subsidies/batches/{batch.pk}/bank-file/").status_code == 405    # a download that decrypts: POST
    download = client.post(f"/subsidies/batches/{batch.pk}/bank-file/")
    assert download.status_code == 200 and download["Content-Type"].startswith("application/vnd.openxmlformats")
    assert AuditEvent.objects.filter(action="export", user=cf, target__contains=batch.number).count() == 1

    def other_amount(row):
        return [*row[:4], "1.00", *row[5:]] if row[0] == 1 else row
    bad = returned(download.content, {}, other_amount)
    bad.name = "回盘.xlsx"
    checked = client.post(f"/subsidies/batches/{batch.pk}/return/", {"file": bad, "dry_run": "1"}, follow=True)
    text = checked.content.decode()
    assert "第4行E列（发放金额（元））：金额“1.00”与发出的8000.00元不符" in text and "未导入任何内容" in text
    good = returned(download.content, {2: ("失败", "卡号不存在")})
    good.name = "回盘.xlsx"
    done = client.post(f"/subsidies/batches/{batch.pk}/return/", {"file": good, "dry_run": "0"}, follow=True)
    assert "已导入回盘文件：成功1笔，失败1笔" in done.content.decode()

    village = make_user("p_village", h2.village_id, role="village_clerk")
    client.force_login(village)
    household_page = client.get(f"/households/{h2.household_no}/").content.decode()
    assert f"发放失败（批次{batch.number}）：卡号不存在" in household_page


def test_funds_and_clearing_pages_by_role(client, two, finance):  # noqa: F811
    _, _, cf = two
    client.force_login(finance)
    answer = client.post("/subsidies/funds/", {"what": "fund", "year": YEAR, "county": "140902000000",
                                              "level": "city", "source": "市级配套资金", "document_no": "忻财〔2026〕8号",
                                              "received_on": TODAY.isoformat(), "amount": "2500.5"}, follow=True)
    assert "已录入到位资金" in answer.content.decode()
    assert funds.standing("140902000000", YEAR)["received"]["city"] == 250_050
    page = client.get(f"/subsidies/clearing/?county=140902000000&year={YEAR}").content.decode()
    assert "2,500.50" in page
    book = client.get(f"/subsidies/clearing/export.xlsx?county=140902000000&year={YEAR}")
    assert book.status_code == 200 and "清算表" in read_sheets(_tmp(book.content))
    client.force_login(cf)                           # county finance reads funds but records none
    assert client.get(f"/subsidies/funds/?year={YEAR}").status_code == 200
    assert client.post("/subsidies/funds/", {"what": "fund", "year": YEAR}).status_code == 403
    client.force_login(make_user("p_vc", "140902001002", role="village_clerk"))
    assert client.get("/subsidies/clearing/").status_code == 403


def test_the_api_lists_and_creates_batches_in_scope(client, two):
    (_, e1), _, cf = two
    client.force_login(cf)
    made = client.post("/api/subsidies/batches", {"county": "140902", "year": YEAR, "entitlement_ids": [e1.pk]},
                       content_type="application/json")
    assert made.status_code == 201 and made.json()["batch"]["line_count"] == 1
    again = client.post("/api/subsidies/batches", {"county": "140902", "year": YEAR, "entitlement_ids": [e1.pk]},
                        content_type="application/json")
    assert again.status_code == 422 and "已在未关闭的批次" in json.dumps(again.json(), ensure_ascii=False)
    listed = client.get(f"/api/subsidies/batches?year={YEAR}").json()
    assert [b["number"] for b in listed["items"]] == [f"140902-{YEAR}-001"]
    one = client.get(f"/api/subsidies/batches/{listed['items'][0]['id']}").json()
    assert one["lines"][0]["card_masked"] == "6217***********2333" and one["totals"]["pending"]["n"] == 1
    assert CARDS[0] not in json.dumps(one)
    standing = client.get(f"/api/subsidies/funds?year={YEAR}").json()
    assert standing["counties"][0]["committed_fen"] >= 1_600_000
    client.force_login(make_user("p_cf921b", "140921", role="county_finance"))
    assert client.get(f"/api/subsidies/batches/{listed['items'][0]['id']}").status_code == 404


def test_the_demo_has_funds_a_paid_batch_and_one_with_failed_lines():
    batches = {b.number: b for b in PaymentBatch.objects.filter(county_code="140902000000", year=2022)}
    assert set(batches) == {"140902-2022-001", "140902-2022-002"}
    assert all(b.status == BatchStatus.CLOSED for b in batches.values())
    assert set(batches["140902-2022-001"].lines.values_list("status", flat=True)) == {LineStatus.PAID}
    failed = batches["140902-2022-002"].lines.filter(status=LineStatus.FAILED)
    assert sorted(failed.values_list("reason", flat=True)) == ["户名与账号不符", "账户已销户"]
    assert funds.standing("140902000000", 2022)["room"] >= 0

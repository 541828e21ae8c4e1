"""In the browser: county finance opens the demo's batch with failed lines and checks a bad return
file (the problems listed per row, nothing written); the village sees the bank's reason on its
household page at phone width."""

import pytest
import xlsxwriter

from cleanheat.subsidies import payments
from cleanheat.subsidies.models import Entitlement, LineStatus, PaymentBatch

from . import test_browser as shared
from .conftest import make_user

page, demo_data, login = shared.page, shared.demo_data, shared.login  # the browser fixtures and login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}


def test_finance_sees_the_failed_lines_and_the_village_sees_why_a_payment_failed(page, live_server, demo_data,
                                                                                tmp_path):
    batch = PaymentBatch.objects.filter(lines__status=LineStatus.FAILED).distinct().get()
    failed = batch.lines.filter(status=LineStatus.FAILED).select_related("household").order_by("row_no").first()
    make_user("bp_finance", batch.county_code[:6], role="county_finance")
    login(page, live_server, "bp_finance")
    page.wait_for_load_state("networkidle")
    page.goto(f"{live_server.url}/subsidies/batches/?year={batch.year}")
    page.click(f"text={batch.number}")
    page.wait_for_selector("#batch-lines")
    assert failed.reason in page.inner_text("#batch-lines")
    assert "已回盘关闭" in page.inner_text("#batch-status")
    assert page.locator("#return-form").count() == 0            # a closed batch takes no return file

    village = failed.household.village_id
    make_user("bp_village", village, role="village_clerk")
    page.click("header button.link")  # 退出
    page.wait_for_url("**/accounts/login/**")
    page.set_viewport_size(PHONE)
    login(page, live_server, "bp_village")
    page.wait_for_load_state("networkidle")
    page.goto(f"{live_server.url}/households/{failed.household.household_no}/")
    text = page.inner_text(".payment-failed")
    assert f"发放失败（批次{batch.number}）：{failed.reason}" in text
    width, inner = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
    assert width <= inner


def test_a_bad_return_file_is_listed_row_by_row_in_the_page(page, live_server, demo_data, tmp_path):
    county = "140902"
    finance = make_user("bp_finance2", county, role="county_finance")
    line = Entitlement.objects.filter(village_code__startswith=county, year=2022, status="approved",
                                      payments__status=LineStatus.FAILED).first()
    batch, _ = payments.create_batch(finance, county, 2022, [line.pk])
    path = tmp_path / "回盘.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    sheet.write_row(2, 0, ["序号", "姓名", "身份证号码", "银行卡号（一卡通账号）", "发放金额（元）", "补贴项目", "所属区划", "备注",
                           "发放结果", "失败原因"])
    sheet.write_row(3, 0, ["5", "某某", "", "6217000000000000", "1.00", "", "", "", "成功", ""])
    book.close()
    login(page, live_server, "bp_finance2")
    page.wait_for_load_state("networkidle")
    page.goto(f"{live_server.url}/subsidies/batches/{batch.pk}/")
    page.set_input_files("#return-form input[type=file]", str(path))
    page.click("#return-check")
    page.wait_for_selector("#return-check-result")
    problems = page.inner_text("#return-check-result")
    assert f"第4行A列（序号）：序号“5”不是批次{batch.number}发出的明细" in problems
    assert set(batch.lines.values_list("status", flat=True)) == {LineStatus.PENDING}

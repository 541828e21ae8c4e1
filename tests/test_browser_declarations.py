"""Browser test of issue #16 (申报审核 to payment): a village declares on a phone, the township returns
it with an opinion, the village corrects and resubmits, the township and county review, and county
finance approves the village's list in bulk; the township publishes the village's notice (masked
names and IDs); once its period is over, county finance bundles the county's queue into a batch,
downloads the bank file and imports the bank's answer: the household's lines are paid."""
from datetime import timedelta

import pytest
from django.utils import timezone

from cleanheat import pii
from cleanheat.ledger import services as ledger
from cleanheat.ledger.choices import Channel
from cleanheat.ledger.models import Household
from cleanheat.subsidies.models import Declaration, Entitlement, LineStatus, Notice, PaymentLine, Status

from . import test_browser as shared
from .conftest import make_user
from .test_subsidies_payments import returned

page, demo_data, login = shared.page, shared.demo_data, shared.login  # the browser fixtures and login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 64
YEAR = 2022


def switch_to(page, live_server, username):
    page.click("header button.link")  # 退出
    page.wait_for_url("**/accounts/login/**")
    login(page, live_server, username)
    page.wait_for_load_state("networkidle")


def no_sideways_scroll(page):
    width, inner = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
    return width <= inner


def test_a_village_declares_the_township_returns_the_village_resubmits_the_county_approves(page, live_server,
                                                                                          demo_data):
    line = Entitlement.objects.filter(year=YEAR, kind="equipment", status=Status.COMPUTED,
                                      household__archived=False).order_by("household_id").first()
    household = Household.objects.get(pk=line.household_id)
    ledger.update_household(household, {"bank_account": "6217000012345678901"}, channel=Channel.SYSTEM,
                            source="户档案登记的一卡通账号")
    household.refresh_from_db()
    village = household.village_id
    make_user("bd_village", village, role="village_clerk")
    make_user("bd_town", village[:9], role="township_clerk")
    make_user("bd_energy", village[:6], role="county_energy")
    make_user("bd_finance", village[:6], role="county_finance")

    # the village clerk declares on a phone
    page.set_viewport_size(PHONE)
    login(page, live_server, "bd_village")
    page.wait_for_load_state("networkidle")
    page.goto(f"{live_server.url}/subsidies/declarations/?year={YEAR}")
    page.fill("#declare-household", household.household_no)
    page.click("#declare-start")
    page.wait_for_url(f"**/declarations/new/{household.household_no}/**")
    assert no_sideways_scroll(page) and page.input_value("input[name=year]") == str(YEAR)
    page.fill("input[name=invoice_no]", "No.1409001")
    page.fill("input[name=purchase_yuan]", "12800")
    page.fill("input[name=installer]", "忻州暖家安装队")
    page.fill("input[name=installed_on]", f"{YEAR}-10-15")
    page.set_input_files("input[name=invoice]", files=[{"name": "发票.png", "mimeType": "image/png", "buffer": PNG}])
    page.set_input_files("input[name=site]", files=[{"name": "现场.jpg", "mimeType": "image/jpeg", "buffer": JPEG}])
    page.click("#submit-declaration")
    page.wait_for_url("**/subsidies/declarations/*/")
    assert "已提交" in page.locator("#declaration-status").inner_text()
    assert no_sideways_scroll(page)
    url = page.url

    # the township returns it with an opinion on the invoice
    switch_to(page, live_server, "bd_town")
    page.goto(url)
    page.fill("#opinion-invoice", "发票号码与照片不一致")
    page.click("#action-return")
    page.wait_for_load_state("networkidle")
    assert "已退回" in page.locator("#declaration-status").inner_text()

    # the village reads the opinion, corrects and resubmits
    switch_to(page, live_server, "bd_village")
    page.goto(url)
    history = page.locator("#history").inner_text()
    assert "发票信息" in history and "发票号码与照片不一致" in history
    page.click("#edit-declaration")
    page.fill("input[name=invoice_no]", "No.1409002")
    page.click("#submit-declaration")
    page.wait_for_url(url)
    assert "已提交" in page.locator("#declaration-status").inner_text()

    # the township reviews it
    switch_to(page, live_server, "bd_town")
    page.goto(url)
    page.click("#action-review")
    page.wait_for_load_state("networkidle")
    assert "乡镇已审核" in page.locator("#declaration-status").inner_text()

    # county housing/energy and county finance look at the village's list and act on it in bulk
    page.set_viewport_size({"width": 1280, "height": 900})
    for username, button in (("bd_energy", "#bulk-review"), ("bd_finance", "#bulk-approve")):
        switch_to(page, live_server, username)
        page.goto(f"{live_server.url}/subsidies/declarations/?year={YEAR}")
        page.click(f"#villages a[href^='/subsidies/declarations/villages/{village}/']")
        assert household.household_no in page.locator("#village-declarations").inner_text()
        page.click(button)
        page.wait_for_selector("#bulk-results")
        assert "已完成" in page.locator("#bulk-results").inner_text()

    declaration = Declaration.objects.get(household=household, year=YEAR)
    assert declaration.status == "approved" and declaration.invoice_no == "No.1409002"
    assert not Entitlement.objects.filter(household=household, year=YEAR).exclude(status=Status.APPROVED).exists()
    page.goto(url)
    assert "已审批" in page.locator("#declaration-status").inner_text()
    actions = page.locator("#history").inner_text()
    for step in ("提交申报", "退回", "修改后重新提交", "审核通过", "审批通过"):
        assert step in actions

    # the township publishes the village's notice: names and IDs masked
    switch_to(page, live_server, "bd_town")
    page.goto(f"{live_server.url}/subsidies/notices/villages/{village}/?year={YEAR}")
    page.click("#publish-notice")
    page.wait_for_selector(".notice")
    shown = page.locator(".notice").last.inner_text()
    full_id = pii.decrypt(household.id_number_cipher)
    name = household.householder_name
    assert f"{name[0]}*" in shown and full_id[-4:] in shown
    assert name not in shown and full_id not in shown

    # seven days later county finance pays the county's queue through the bank
    Notice.objects.filter(village_code=village, year=YEAR).update(
        starts_on=timezone.localdate() - timedelta(days=30), ends_on=timezone.localdate() - timedelta(days=23))
    switch_to(page, live_server, "bd_finance")
    page.goto(f"{live_server.url}/subsidies/batches/?year={YEAR}")
    page.click(f"[data-create-batch^='{village[:6]}']")
    page.wait_for_selector("#batch-lines")
    assert household.household_no in page.inner_text("#batch-lines")
    with page.expect_download() as download:
        page.click("#bank-file")
    answer = returned(open(download.value.path(), "rb").read(), {})
    page.set_input_files("#return-form input[type=file]", files=[
        {"name": "回盘.xlsx", "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "buffer": answer.getvalue()}])
    page.click("#return-import")
    page.wait_for_load_state("networkidle")
    assert "已回盘关闭" in page.inner_text("#batch-status")
    lines = PaymentLine.objects.filter(household=household, entitlement__year=YEAR)
    assert lines.exists() and set(lines.values_list("status", flat=True)) == {LineStatus.PAID}

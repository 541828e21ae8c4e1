"""Browser tests of the desk (issue 15 part 7): the city's notice read by a county, 催报 as a to-do,
and the three roles' landing pages with their 待办 panels."""
import pytest

from cleanheat.regions.models import Region

from . import test_browser as shared
from .conftest import make_user

page, demo_data, login = shared.page, shared.demo_data, shared.login  # the browser fixtures and login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def switch_user(page, live_server, username):
    page.context.clear_cookies()
    login(page, live_server, username)


def test_city_notice_to_one_county_is_read_there_and_the_city_sees_it(page, live_server, demo_data, tmp_path):
    make_user("bd_city", "1409", role="city_admin")
    make_user("bd_xinfu", "140902", role="county_clerk")
    make_user("bd_dai", "140923", role="county_clerk")
    login(page, live_server, "bd_city")
    page.wait_for_url("**/regions/140900000000/")
    page.click("#nav-notices")
    page.click("#notice-new")
    page.fill("#notice-title", "关于加快推进煤改电施工的通知")
    page.fill("#notice-body", "忻府区：\n\n请于本周内完成剩余户的接电。")
    attachment = tmp_path / "接电进度.txt"
    attachment.write_text("进度表", encoding="utf-8")
    page.set_input_files("#notice-attachment", str(attachment))
    page.check("input[name=audience][value=some]")
    page.check("input[name=units][value='140902']")
    page.click("#notice-form button[type=submit]")
    page.wait_for_url("**/desk/notices/*/")
    assert page.locator("#unread-total").inner_text() != "0" and page.locator("#read-total").inner_text() == "0"
    notice_url = page.url

    switch_user(page, live_server, "bd_dai")
    page.wait_for_url("**/regions/140923000000/")
    assert "关于加快推进煤改电施工的通知" not in page.locator("#todos").inner_text()

    switch_user(page, live_server, "bd_xinfu")
    page.wait_for_url("**/regions/140902000000/")
    assert page.locator("#nav-notices .badge").inner_text() == "1"
    page.click("#todos a:has-text('关于加快推进煤改电施工的通知')")
    page.wait_for_url(notice_url)
    assert "请于本周内完成剩余户的接电。" in page.locator("main").inner_text()
    with page.expect_download() as download:
        page.click("#notice-attachment")
    assert download.value.suggested_filename == "接电进度.txt"
    page.goto(f"{live_server.url}/")
    assert "关于加快推进煤改电施工的通知" not in page.locator("#todos").inner_text()
    assert page.locator("#nav-notices .badge").count() == 0

    switch_user(page, live_server, "bd_city")
    page.goto(notice_url)
    row = page.locator("#receipts tr[data-unit='140902']")
    assert "bd_xinfu" in row.locator("td").nth(3).inner_text()
    assert page.locator("#read-total").inner_text() == "1"


def test_remind_click_is_a_to_do_for_the_county(page, live_server, demo_data):
    make_user("bd_city", "1409", role="city_admin")
    make_user("bd_xinfu", "140902", role="county_clerk")
    login(page, live_server, "bd_city")
    page.wait_for_url("**/regions/140900000000/")
    assert "未报送调度报告" in page.locator("#todos").inner_text()  # the city's own to-do
    page.goto(f"{live_server.url}/dispatch/")
    form = page.locator("form.remind:has(input[name=county][value='140902'])")
    form.locator("input[name=message]").fill("请今天下班前报送")
    form.locator("button").click()
    page.wait_for_url("**/dispatch/")
    assert "已催报" in page.locator(".messages").inner_text()

    switch_user(page, live_server, "bd_xinfu")
    page.wait_for_url("**/regions/140902000000/")
    todo = page.locator("#todos li.todo-reminder")
    assert "请今天下班前报送" in todo.inner_text()
    todo.locator("a").click()
    page.wait_for_url("**/dispatch/")
    page.fill("input[name=responsible_person]", "张主任")
    page.click("form.household-form button[type=submit]")
    page.wait_for_url("**/dispatch/")
    page.goto(f"{live_server.url}/")
    assert page.locator("#todos li.todo-reminder").count() == 0


def test_three_roles_land_on_their_area_with_their_to_dos(page, live_server, demo_data):
    village = Region.objects.filter(level=4, code__startswith="140902").order_by("code").first()
    make_user("bd_city", "1409", role="city_admin")
    make_user("bd_xinfu", "140902", role="county_clerk")
    make_user("bd_village", village.prefix, role="village_clerk")
    page.set_viewport_size(PHONE)
    for username, code, expected in (("bd_city", "140900000000", "未报送调度报告"),
                                     ("bd_xinfu", "140902000000", "本期调度报告待报送"),
                                     ("bd_village", village.code, "待办")):
        switch_user(page, live_server, username)
        page.wait_for_url(f"**/regions/{code}/")
        panel = page.locator("#todos")
        assert panel.is_visible()
        assert expected in panel.inner_text()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert panel.bounding_box()["width"] <= PHONE["width"] and width >= PHONE["width"]

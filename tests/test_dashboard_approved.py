"""Issue #18 part 6: the progress dashboard can show approved figures only: a unit counts only once
the level above has confirmed (locked) its ledger; the others are shown as 未审核 and not counted."""
import json
import re

import pytest

from cleanheat.inspections import approvals
from cleanheat.ledger.choices import STATE_ORDER
from cleanheat.ledger.models import Household

from .conftest import make_user

pytestmark = pytest.mark.django_db
YEAR = 2022


def by_hand(villages) -> dict:
    """Households of the year in these villages, those at 已完工 or further, those at 已验收 or further."""
    states = list(Household.objects.filter(village_id__in=villages, plan_year=YEAR, archived=False)
                  .values_list("state", flat=True))
    at_least = lambda state: sum(STATE_ORDER.index(s) >= STATE_ORDER.index(state) for s in states)  # noqa: E731
    return {"households": len(states), "installed": at_least("installed"), "accepted": at_least("accepted")}


def shown(response) -> dict:
    text = response.content.decode()
    data = json.loads(re.search(r'id="dashboard-data" type="application/json">(.*?)</script>', text, re.S).group(1))
    return {"own": {k: data["own"][k] for k in ("households", "installed", "accepted")}, "text": text,
            "units": {u["code"]: u for u in data["units"]}}


@pytest.fixture
def township():
    """A township of 忻府区 with households of 2022 in at least three villages."""
    for code in Household.objects.filter(village__code__startswith="140902", plan_year=YEAR) \
            .values_list("village_id", flat=True).distinct().order_by("village_id"):
        villages = approvals.children(code[:9], YEAR)
        if len(villages) >= 3:
            return code[:9].ljust(12, "0"), villages
    pytest.fail("the demo has no township with three villages holding households of the year")


def test_approved_figures_only_count_the_confirmed_villages(client, township):
    code, villages = township
    town = make_user("da_town", code[:9], role="township_clerk")
    client.force_login(make_user("da_viewer", "140902", role="county_admin"))
    url = f"/dashboard/{code}/?year={YEAR}"
    everything = shown(client.get(url))
    assert everything["own"] == by_hand(villages)
    assert "未审核" not in everything["text"] and "仅显示已审核数据" in everything["text"]

    approvals.approve(YEAR, villages[0], user=town)
    approvals.approve(YEAR, villages[1], user=town)
    only = shown(client.get(url + "&approved=1"))
    assert only["own"] == by_hand(villages[:2]) != by_hand(villages)
    assert only["units"][villages[2]]["unapproved"] and only["units"][villages[2]]["installed"] is None
    assert only["units"][villages[0]]["installed"] == by_hand(villages[:1])["installed"]
    total = re.search(r'<tr id="approved-total">(.*?)</tr>', only["text"], re.S).group(1)
    assert "2个单位" in total and f">{by_hand(villages[:2])['households']:,}<" in total
    row = re.search(rf'<tr data-code="{villages[2]}" class="unapproved">(.*?)</tr>', only["text"], re.S).group(1)
    assert "未审核" in row
    # the whole region's curve and the reports panel (not filtered by approval) are left out
    assert 'id="chart-curve"' in everything["text"] and 'id="reports-panel-slot"' in everything["text"]
    assert 'id="chart-curve"' not in only["text"] and 'id="reports-panel-slot"' not in only["text"]

    approvals.approve(YEAR, villages[2], user=town)   # a newly confirmed village is counted at once (not cached)
    assert shown(client.get(url + "&approved=1"))["own"] == by_hand(villages[:3])
    approvals.reopen(YEAR, villages[0], reason="户数有误", user=town)   # a reopened one is not
    assert shown(client.get(url + "&approved=1"))["own"] == by_hand(villages[1:3])
    assert shown(client.get(url))["own"] == by_hand(villages)   # the full view is unchanged


def test_the_city_dashboard_with_no_county_confirmed_counts_nothing(client):
    client.force_login(make_user("da_city", "1409", role="city_viewer"))
    page = shown(client.get(f"/dashboard/?year={YEAR}&approved=1"))
    assert page["own"] == {"households": 0, "installed": 0, "accepted": 0}
    assert page["units"] and all(u["unapproved"] for u in page["units"].values())
    toggle = re.search(r'id="approved-toggle"><a href="([^"]*)">☑', page["text"]).group(1)
    assert "approved=1" not in toggle   # ticked: the link leads back to every figure
    plain = client.get(f"/dashboard/?year={YEAR}").content.decode()
    assert "approved=1" in re.search(r'id="approved-toggle"><a href="([^"]*)">☐', plain).group(1)

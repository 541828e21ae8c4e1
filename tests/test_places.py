"""Issue 15 part 5: places by name — the picker endpoint (scoped) and the list's region box."""
from collections import Counter

import pytest

from cleanheat.ledger.models import Household
from cleanheat.regions.codes import TOWNSHIP, VILLAGE
from cleanheat.regions.models import Region

from .conftest import make_user

pytestmark = pytest.mark.django_db

XINFU, WUTAI = "140902", "140922"


def logged_in(client, username, scope, role="county_clerk"):
    client.force_login(make_user(username, scope, role=role))
    return client


def unique_village_with_households(prefix=XINFU):
    """A village of `prefix` with households whose short name no other place in the city bears."""
    names = Counter(n for pair in Region.objects.values_list("name", "short_name") for n in set(pair) if n)
    for village in Region.objects.filter(level=VILLAGE, code__startswith=prefix).exclude(short_name=""):
        if names[village.short_name] == 1 and names[village.name] == 1 and \
                Household.objects.filter(village=village, archived=False).exists():
            return village
    raise AssertionError("no uniquely named village with households")


def shared_short_name():
    """A short name borne by villages of several townships in the city (西街村, 东街村 …)."""
    by_name = {}
    for v in Region.objects.filter(level=VILLAGE).exclude(short_name=""):
        by_name.setdefault(v.short_name, set()).add(v.code)
    return next(n for n, codes in by_name.items() if len(codes) > 1 and
                not Region.objects.filter(name=n).exists())


def listed_numbers(response):
    return {h.household_no for h in response.context["page"].object_list}


def test_region_box_accepts_a_village_by_short_or_official_name(client):
    village = unique_village_with_households()
    logged_in(client, "p_city", "1409", role="city_admin")
    expected = set(Household.objects.filter(village=village, archived=False)
                   .order_by("household_no").values_list("household_no", flat=True)[:50])
    for name in (village.short_name, village.name):
        response = client.get("/households/", {"region": name})
        assert listed_numbers(response) == expected
        assert response.context["page"].paginator.count == \
            Household.objects.filter(village=village, archived=False).count()
        text = response.content.decode()
        assert village.code in text and "对应" not in text and "没有名称含" not in text


def test_region_box_accepts_a_township_name(client):
    township = Region.objects.filter(level=TOWNSHIP, code__startswith=XINFU, name="奇村镇").first() or \
        Region.objects.filter(level=TOWNSHIP, code__startswith=XINFU).first()
    logged_in(client, "p_city2", "1409", role="city_admin")
    response = client.get("/households/", {"region": township.name})
    assert response.context["page"].paginator.count == \
        Household.objects.filter(village__code__startswith=township.code[:9], archived=False).count() > 0


def test_a_name_of_several_places_lists_them_to_choose_from(client):
    name = shared_short_name()
    logged_in(client, "p_city3", "1409", role="city_admin")
    response = client.get("/households/", {"region": name})
    text = response.content.decode()
    assert response.context["page"].paginator.count == 0
    assert "个地点，请选择其一" in text
    codes = Region.objects.filter(short_name=name).values_list("code", flat=True)
    assert len(codes) > 1
    for code in codes:
        assert f"region={code}" in text
    pick = client.get("/households/", {"region": codes[0]})
    assert pick.context["page"].paginator.count == Household.objects.filter(village_id=codes[0], archived=False).count()


def test_a_name_of_no_place_says_so(client):
    logged_in(client, "p_xinfu2", XINFU)
    response = client.get("/households/", {"region": "杨东社区不存在村"})
    text = response.content.decode()
    assert response.context["page"].paginator.count == 0
    assert "您的管辖范围内没有名称含“杨东社区不存在村”" in text
    unknown = client.get("/households/", {"region": "999999"}).content.decode()
    assert "不是您管辖范围内的区划" in unknown


def test_a_place_outside_the_scope_is_never_found(client):
    """A Wutai village, asked for by a Xinfu clerk: no picker entry, no filter, no hint of it."""
    village = unique_village_with_households(WUTAI)
    logged_in(client, "p_xinfu3", XINFU)
    picker = client.get("/regions/places/", {"region": village.short_name, "mode": "filter"}).content.decode()
    assert village.code not in picker and village.name not in picker.replace(f"“{village.short_name}”", "")
    assert "您的管辖范围内没有名称含" in picker
    listed = client.get("/households/", {"region": village.name})
    assert listed.context["page"].paginator.count == 0
    assert village.code not in listed.content.decode()
    assert client.get("/households/", {"region": village.code}).context["page"].paginator.count == 0


def test_picker_lists_matching_places_in_scope_with_their_township(client):
    village = unique_village_with_households()
    logged_in(client, "p_xinfu4", XINFU)
    prefix = village.short_name[:2]
    text = client.get("/regions/places/", {"region": prefix, "mode": "filter"}).content.decode()
    assert f'data-pick="{village.code}"' in text and village.parent.name in text
    wutai = Region.objects.filter(code__startswith=WUTAI, level__in=(TOWNSHIP, VILLAGE)).values_list("code", flat=True)
    assert not any(code in text for code in wutai)
    form = client.get("/regions/places/", {"place": village.short_name, "mode": "form"}).content.decode()
    assert f"village={village.code}" in form and 'data-pick-county="140902"' in form
    assert 'data-pick="140902' in form and "140922" not in form


def test_picker_answers_nothing_for_codes_and_empty_text(client):
    logged_in(client, "p_xinfu5", XINFU)
    assert client.get("/regions/places/", {"region": "140902"}).content.strip() == b""
    assert client.get("/regions/places/", {"region": "  "}).content.strip() == b""

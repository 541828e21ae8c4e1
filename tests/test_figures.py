"""Cached figures (cleanheat/figures): a page served from the cache equals the page computed afresh,
after every kind of write — edits, transitions, archiving, imports, allocations, batch sizing, plan
and register changes, a bulk update outside the services; pages that would take long answer at
once and load their figures with a "computing" indicator; compliance drill-downs reuse the city's scan."""
import re
from datetime import date

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cleanheat.figures import watch
from cleanheat.imports import ledger_import
from cleanheat.ledger import services as ledger
from cleanheat.ledger.models import Household
from cleanheat.plan import services as plan
from cleanheat.plan.models import CountyPlan
from cleanheat.procurement import services as procurement
from cleanheat.procurement.batch import size_region
from cleanheat.procurement.models import CatalogModel
from cleanheat.regions.models import Region
from cleanheat.rules import compliance
from cleanheat.rules.models import HeatSource

from .conftest import make_user
from .factories import new_id_number
from .sheets import TEMPLATE_HEADER, template_row, write_sheet

CSRF = re.compile(r'(csrfmiddlewaretoken" value="|"X-CSRFToken": ")[^"]+')
SLOW_TABLES = ("ledger_household", "ledger_energydemand", "procurement_advice", "ledger_lifecycleevent")


def pages():
    village = Region.objects.filter(level=4, code__startswith="140902").order_by("code").first()
    township = village.parent
    return ["/regions/140900000000/", "/regions/140902000000/", f"/regions/{township.code}/",
            f"/regions/{village.code}/", "/compliance/", "/compliance/140902000000/",
            "/compliance/?rule=heat_source&severity=breach", "/compliance/?rule=retrofit&severity=breach",
            "/dashboard/", "/dashboard/140902000000/", f"/dashboard/{township.code}/",
            "/progress/140902000000/?date=2022-08-31",
            # the 2022 plan's households (the default is the latest plan, the demo's invented 2023)
            "/regions/140900000000/?year=2022", "/regions/140902000000/?year=all", "/dashboard/?year=2022",
            f"/dashboard/{township.code}/?year=2022", "/progress/140902000000/?year=2022&asof=2022-08-31",
            "/progress/140902000000/?year=2022"]


def snapshot(client) -> dict:
    shown = {}
    for url in pages():
        response = client.get(url)
        assert response.status_code == 200, url
        shown[url] = CSRF.sub(r"\1…", response.content.decode())
    return shown


def fresh(client) -> dict:
    caches["figures"].clear()
    return snapshot(client)


# ---- noticing writes

def test_writes_to_the_tables_figures_come_from_are_noticed_and_no_others():
    assert watch.writes_source('INSERT INTO "ledger_household" ("household_no") VALUES (%s)')
    assert watch.writes_source('  update "procurement_allocation" SET "released_at" = %s')
    assert watch.writes_source('DELETE FROM "rules_heatsource_villages" WHERE "heatsource_id" IN (1)')
    assert watch.writes_source('INSERT OR IGNORE INTO "plan_target" ("households") VALUES (1)')
    assert watch.writes_source('TRUNCATE "audit_auditevent", "ledger_household" RESTART IDENTITY')
    assert not watch.writes_source('SELECT * FROM "ledger_household"')
    assert not watch.writes_source('UPDATE "django_session" SET "session_data" = %s')
    assert not watch.writes_source('INSERT INTO "audit_auditevent" ("action") VALUES (%s)')
    assert not watch.writes_source('UPDATE "figures_generation" SET "token" = %s')


# ---- cached equals fresh, after every kind of write

def _import_one(user, village):
    path = write_sheet(pytest.importorskip("pathlib").Path(f"/tmp/figures-import-{user.pk}.xlsx"), TEMPLATE_HEADER, [
        template_row(village_code=village.code, householder_name="缓存测试", id_number=new_id_number("140902"),
                     phone="13900002222", heated_area="95", structure="砖混", original_facility="土暖气",
                     heating_path="煤改电", electric_device="空气源热泵（热风型）", household_size="4")])
    result = ledger_import.analyse(path, user=user, filename=path.name)
    ledger_import.commit(result, user=user)
    path.unlink()


@pytest.mark.django_db(transaction=True)
def test_cached_pages_equal_fresh_ones_after_every_kind_of_write(client, demo_cfg):
    from cleanheat.demo.loader import load_demo
    if not Household.objects.exists():  # transactional tests start from an empty database
        load_demo(demo_cfg, scale=0.002)
    admin = make_user("fig_admin", "1409", role="city_admin")
    county_admin = make_user("fig_county", "140902", role="county_admin")
    client.force_login(admin)
    xinfu = Household.objects.filter(village__code__startswith="140902", archived=False)
    village = Region.objects.filter(level=4, code__startswith="140902").order_by("code").first()
    cp = CountyPlan.objects.get(plan__year=2022, county_code="140902")
    source = HeatSource.objects.filter(households__archived=False, households__state="installed").first()
    model = CatalogModel.objects.get(model_name="JB-KRS10D")
    contract = procurement.create_contract({"county_code": "140902", "contract_no": "F-1", "vendor": model.vendor,
                                            "title": "缓存测试"}, [{"model": model, "quantity": 5}])

    def move_one_target():
        split = plan.township_breakdown(cp)
        first, second = sorted(t for t in split if split[t].get("electric"))[:2]
        moved = {(t, p): n for t, per in split.items() for p, n in per.items()}
        moved[(first, "electric")] -= 1
        moved[(second, "electric")] += 1
        plan.set_township_targets(cp, moved, user=county_admin)
    writes = [
        ("transition", lambda: ledger.transition(xinfu.filter(state="installed").first(), "installing",
                                                 user=admin, reason="复核未完工")),
        ("edit", lambda: ledger.update_household(xinfu.filter(envelope_retrofitted=False, envelope_gain_pct=None)
                                                 .first(), {"envelope_retrofitted": "是"}, user=admin)),
        ("archive", lambda: ledger.archive_household(xinfu.filter(state="confirmed").first(), reason="重复登记",
                                                     user=admin)),
        ("import", lambda: _import_one(admin, village)),
        ("allocation", lambda: procurement.allocate(xinfu.filter(heating_path="electric", state="confirmed")
                                                    .exclude(electric_device="").first(), contract.lines.get(),
                                                    user=admin)),
        ("batch sizing", lambda: size_region("140902")),
        ("county target", lambda: plan.set_target(cp, "electric", cp.targets.get(heating_path="electric").households
                                                  + 7, user=admin, reason="增补")),
        ("township breakdown", move_one_target),
        ("heat source register", lambda: HeatSource.objects.filter(pk=source.pk).update(kind="waste_heat", grade="D")),
        ("bulk update outside the services", lambda: Household.objects.filter(
            pk=xinfu.filter(state="confirmed").first().pk).update(heating_path="gas")),
    ]
    before = snapshot(client)
    assert before == fresh(client)
    for name, write in writes:
        snapshot(client)                                   # everything cached
        with CaptureQueriesContext(connection) as queries:
            client.get("/regions/140900000000/")
            client.get("/compliance/")
        assert not [q for q in queries if any(t in q["sql"] for t in SLOW_TABLES)], name  # served from the cache
        write()
        after = snapshot(client)
        assert after == fresh(client), name
        changed = [url for url in after if after[url] != before[url]]
        assert changed, f"{name}: no page shows the change"
        before = after


@pytest.mark.django_db(transaction=True)
def test_a_write_rolled_back_leaves_the_cache_in_use(client, demo_cfg):
    from django.db import transaction

    from cleanheat.demo.loader import load_demo
    if not Household.objects.exists():
        load_demo(demo_cfg, scale=0.002)
    client.force_login(make_user("fig_admin2", "1409", role="city_admin"))
    before = snapshot(client)
    household = Household.objects.filter(archived=False).first()
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            Household.objects.filter(pk=household.pk).update(archived=True)
            assert watch.has_uncommitted_change(connection)   # this connection reads no cached figure now
            raise RuntimeError("rolled back")
    assert not watch.has_uncommitted_change(connection)
    assert snapshot(client) == before == fresh(client)


# ---- pages that would take long answer at once

@pytest.mark.django_db
def test_a_large_uncached_region_page_answers_at_once_then_loads_its_figures(admin_client, settings):
    settings.CLEANHEAT_DEFER_FIGURES_FROM = 1
    latest = Household.objects.order_by("-plan_year").values_list("plan_year", flat=True).first()
    total = Household.objects.filter(archived=False, plan_year=latest).count()  # the latest plan's
    page = admin_client.get("/regions/140900000000/").content.decode()
    assert 'hx-get="/regions/140900000000/figures/"' in page and 'hx-trigger="load"' in page
    assert "正在计算汇总" in page and 'class="rollup"' not in page and 'id="node-total">…<' in page
    part = admin_client.get("/regions/140900000000/figures/").content.decode()
    assert "<html" not in part and 'class="rollup"' in part and 'id="sizing-rollup"' in part
    assert f'<strong id="node-total" hx-swap-oob="true">{total:,}</strong>' in part
    page = admin_client.get("/regions/140900000000/").content.decode()   # cached now: the whole page at once
    assert "data-loading" not in page and f'id="node-total">{total:,}<' in page
    every_year = Household.objects.filter(archived=False).count()
    assert every_year > total
    settings.CLEANHEAT_DEFER_FIGURES_FROM = total + 1   # the page's sizing rollup spans every year's households
    caches["figures"].clear()
    assert "data-loading" in admin_client.get("/regions/140900000000/").content.decode()
    settings.CLEANHEAT_DEFER_FIGURES_FROM = every_year + 1                 # a small area is computed in place
    caches["figures"].clear()
    assert "data-loading" not in admin_client.get("/regions/140902000000/").content.decode()


@pytest.mark.django_db
def test_a_large_uncached_compliance_page_answers_at_once_then_loads_its_results(admin_client, settings):
    settings.CLEANHEAT_DEFER_FIGURES_FROM = 1
    page = admin_client.get("/compliance/?rule=gas&severity=breach").content.decode()
    assert 'hx-get="/compliance/140900000000/results/?rule=gas&amp;severity=breach"' in page
    assert "正在检查全部规则" in page and 'id="compliance-summary"' not in page
    part = admin_client.get("/compliance/140900000000/results/?rule=gas&severity=breach").content.decode()
    breaches = [f for f in compliance.scan("1409") if (f.rule, f.severity) == ("gas", "breach")]
    assert breaches and "<html" not in part and 'id="compliance-summary"' in part
    assert all(f.household_no in part for f in breaches[:20])
    assert 'id="compliance-summary"' in admin_client.get("/compliance/").content.decode()


@pytest.mark.django_db
def test_compliance_drill_downs_reuse_the_city_scan(admin_client):
    admin_client.get("/compliance/")
    township = Region.objects.filter(level=3, code__startswith="140902").first()
    for url in ("/compliance/?rule=gas&severity=breach", "/compliance/140902000000/",
                f"/compliance/{township.code}/?rule=sizing&severity=warning"):
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(url).status_code == 200
        assert not [q for q in queries if any(t in q["sql"] for t in SLOW_TABLES)], url   # no second scan
    county = compliance.findings("140902")
    assert county == compliance.scan("140902") and county   # taken from the city's: the same as scanning the county
    assert {f.household_no for f in compliance.findings("1409") if f.village.startswith("140902")} == \
        {f.household_no for f in county}


@pytest.mark.django_db
def test_a_past_date_progress_is_cached_and_correct():
    from cleanheat.plan.progress import counts_on
    first = counts_on("1409", 6, date(2022, 8, 31))
    with CaptureQueriesContext(connection) as queries:
        again = counts_on("1409", 6, date(2022, 8, 31))
    assert again == first and first and not [q for q in queries if "ledger_lifecycleevent" in q["sql"]]
    caches["figures"].clear()
    assert counts_on("1409", 6, date(2022, 8, 31)) == first


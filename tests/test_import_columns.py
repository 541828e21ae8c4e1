"""The ledger import recognises plainly valid new rows column by column; every other row goes
through the per-row service checks. Both ways must give the same answer for every row."""
import random
from datetime import date

import pytest

from cleanheat.imports import ledger_import
from cleanheat.imports.dates import DATE_FIELDS
from cleanheat.imports.exports import export_households
from cleanheat.imports.xlsx import TEMPLATE_FIELDS
from cleanheat.sheets.headers import TEMPLATE_HEADERS
from cleanheat.sheets.reader import read_rows, read_table
from cleanheat.ledger import services
from cleanheat.ledger.models import Household, HouseholdChange, LifecycleEvent
from cleanheat.ledger.queries import household_queryset
from cleanheat.regions.models import Region
from cleanheat.rules import engine
from cleanheat.rules.models import GasContract, HeatSource

from .conftest import make_user
from .factories import new_id_number
from .sheets import TEMPLATE_HEADER, template_row, write_sheet

pytestmark = pytest.mark.django_db

COMPARED = ["village_id", "householder_name", "id_number_hash", "id_number_masked", "phone_hash", "phone_masked",
            "bank_account_hash", "bank_account_masked", "address", "household_size", "is_dibao", "is_tekun",
            "is_tuopin", "is_canji", "heated_area", "structure", "envelope_retrofitted", "envelope_gain_pct",
            "original_facility", "heating_path", "electric_device", "heat_source_id", "removal_consent_on", "state"]


def _messy_rows(rng, villages, existing, foreign, sources):
    """Rows the way clerks fill them in, right and wrong, for every column."""
    township, village = villages[0].parent, villages[0]
    ids = []

    def some_id():
        choice = rng.random()
        if choice < 0.62 or not ids or clean:
            ids.append(new_id_number("140902", f"19{rng.randint(30, 99)}0{rng.randint(1, 9)}1{rng.randint(0, 9)}"))
            value = ids[-1]
            return value.lower() if rng.random() < 0.05 else value
        return rng.choice([
            rng.choice(ids),                                    # duplicate inside the file
            existing.id_number_masked,                          # masked, as our own export writes it
            "1.40902E+17", "14090219700101123", "140902197001011234",  # Excel number, too short, checksum
            "140902700101123",                                  # 15-digit (old) number
            " " + ids[-1][:6] + " " + ids[-1][6:] + " ",          # stray spaces
            ids[-1].translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"}),  # full-width digits
            foreign, "",
        ])

    def pick(*options, weights=None):
        return options[0] if clean else rng.choices(options, weights=weights)[0]

    rows = []
    for _ in range(400):
        clean = rng.random() < 0.3  # a plain valid row (the first option of each column)
        where = pick("code", "names", "bad", weights=[6, 3, 1])
        cells = dict(
            household_no=pick("", existing.household_no, "1409020999999", weights=[30, 1, 1]),
            village_code=rng.choice(villages).code if where == "code" else pick("", "14092810000", "140928100201"),
            township=township.name if where == "names" else pick("", "某某镇"),
            village=village.name if where == "names" else pick("", "无此村"),
            householder_name=pick("张三", " 李  四 ", "王五", "", "长" * 41, "赵\x01六", weights=[10, 2, 10, 1, 1, 1]),
            id_number=some_id(),
            phone=pick("13900001111", "", "+8613900002222", "139 0000 3333", "12345", weights=[10, 5, 1, 1, 1]),
            bank_account=pick("", "6217000011112222333", "abc", weights=[10, 3, 1]),
            address=pick("", "1号院", "  2 号 ", "3号\x0b院", weights=[3, 5, 1, 1]),
            household_size=pick("", "3", "0", "三", "4", weights=[3, 10, 1, 1, 5]),
            is_dibao=pick("", "是", "否", "Y", "也许", weights=[5, 2, 10, 1, 1]),
            is_canji=pick("", "是", "否", weights=[5, 1, 5]),
            heated_area=pick("88", "95.5", "0", "很大", "90㎡", "", "120.25", "-5", "2000.04",
                             weights=[10, 10, 1, 1, 2, 1, 2, 1, 1]),
            structure=pick("", "砖混", "砖木结构", "草房", weights=[3, 10, 3, 1]),
            envelope_retrofitted=pick("", "否", "是", weights=[5, 5, 2]),
            envelope_gain_pct=pick("", "35", "20", "百分之三十", weights=[6, 3, 2, 1]),
            original_facility=pick("燃煤炉", "土暖气", "", "柴灶", weights=[10, 5, 1, 1]),
            heating_path=pick("集中供热", "煤改电", "煤改气", "生物质", "", "地热", "空气源热泵", "集中供暖", "空气能",
                              "电采暖", weights=[6, 6, 5, 2, 1, 1, 3, 2, 1, 1]),
            electric_device=pick("", "空气源热泵（热风型）", "蓄热式电暖器", "电炉子", " ", weights=[5, 4, 2, 1, 1]),
            heat_source=pick("", sources[0].name, sources[1].name, "不存在的热源", weights=[5, 3, 1, 1]),
            removal_consent_on=pick("", "2022-05-01", "2099-01-01", "去年", weights=[10, 2, 1, 1]),
            state=pick("", "已选型", "施工中", "已完工", "已验收", "稳定运行", "进行中", weights=[5, 5, 2, 3, 2, 1, 1]),
            state_date=pick("", "2022/5/1", "2022年6月1日", "2099-01-01", "昨天", weights=[5, 3, 2, 1, 1]),
        )
        cells.update(_step_days(rng, cells["state"]))
        if any(cells.get(f) for f in DATE_FIELDS.values()) and rng.random() < 0.9:
            cells["state_date"] = ""
        rows.append(template_row(**cells))
    return rows


# The days a clerk gives for the steps (one of them an Excel serial: 2022-10-20).
STEP_DAYS = [("confirmed_on", "2022/3/5"), ("selected_on", "2022-04-10"), ("installing_on", "2022年5月20日"),
             ("installed_on", "2022-09-30"), ("accepted_on", "44854")]
STATE_STEP = {"已选型": 1, "施工中": 2, "已完工": 3, "已验收": 4, "稳定运行": 4}


def _step_days(rng, state):
    """Half the rows give days for some steps up to their state (or up to a step of their own when
    the state is not given); a few of those get a day in the future, out of order, beyond the state
    or not a date."""
    if rng.random() < 0.5:
        return {}
    reach = STATE_STEP.get(state, rng.randrange(len(STEP_DAYS)) if not state else 0)
    days = {f: d for k, (f, d) in enumerate(STEP_DAYS) if k <= reach and (k == reach or rng.random() < 0.5)}
    fault = rng.random()
    if fault < 0.04:
        days["confirmed_on"] = "2099-01-01"
    elif fault < 0.08:
        days.update(confirmed_on="2022/3/5", installed_on="2022-01-15")
    elif fault < 0.11:
        days["accepted_on"] = "三月"
    elif fault < 0.13:
        days["removed_on"] = "2023-05-01"
    return days


def _snapshot():
    households = {h["id_number_hash"]: h for h in Household.objects.filter(changes__source="messy.xlsx")
                  .values(*COMPARED).distinct()}
    events = sorted(LifecycleEvent.objects.filter(reason__contains="messy.xlsx")
                    .values_list("household__id_number_hash", "from_state", "to_state", "occurred_on", "channel"))
    changes = sorted(HouseholdChange.objects.filter(source="messy.xlsx")
                     .values_list("household__id_number_hash", "field", "old_value", "new_value", "channel"))
    return households, events, changes


def test_column_checks_give_the_same_answer_as_row_by_row_checks(tmp_path):
    clerk = make_user("columns_clerk", "140902", role="county_clerk")
    villages = list(Region.objects.filter(level=4, code__startswith="14090210").order_by("code")[:3])
    existing = Household.objects.filter(village__code__startswith="140902", archived=False).first()
    foreign = services.create_household({
        "village": Region.objects.filter(level=4, code__startswith="140928").first().code, "householder_name": "外县",
        "id_number": new_id_number("140928"), "heated_area": "80", "original_facility": "燃煤炉",
        "heating_path": "煤改电"})
    foreign_id = new_id_number("140928")
    services.update_household(foreign, {"id_number": foreign_id})
    sources = [HeatSource.objects.filter(kind="waste_heat", grade__in=["A", "B"]).first(),
               HeatSource.objects.filter(grade="B-").first() or HeatSource.objects.first()]
    # a gas contract that runs out part-way through the file: the volume check counts rows above
    index = float(engine.config_for(villages[0].code).gas_index_m3_per_m2)
    GasContract.objects.filter(villages__in=villages).delete()
    contract = GasContract.objects.create(name="有限气量", gas_company="某燃气", county_code="140902",
                                          season_volume_m3=int(150 * index), pipeline_done=True, safety_passed=True)
    contract.villages.set(villages)
    rows = _messy_rows(random.Random(7), villages, existing, foreign_id, sources)
    rows += [template_row(village_code=villages[0].code, householder_name=f"热泵{i}", id_number=new_id_number("140902"),
                          heated_area="88", original_facility="燃煤炉", heating_path=path, state="已选型",
                          confirmed_on="2022-03-01")
             for i, path in enumerate(["空气源热泵", "空气能", "空气源热泵热风机"])]  # the device named with the path
    others = list(Household.objects.filter(village__code__startswith="140902", archived=False)[1:4])
    # updates no rule objects to (the county's heat source is downgraded below), so the sheet surely has some
    plain = list(Household.objects.filter(village__code__startswith="140902", archived=False,
                                          heat_source__isnull=True).order_by("-pk")[:4])
    assert len(plain) == 4
    rows += [template_row(household_no=h.household_no, **change) for h, change in zip(plain, (
        {"phone": "13900005555"}, {"household_size": "6"}, {"structure": "砖木"}, {"address": "新门牌"}))]
    rows += [template_row(household_no=others[0].household_no, address="新地址"),       # an update
             template_row(household_no=others[1].household_no),                         # nothing changes
             template_row(id_number=services.reveal(others[2], "id_number", user=clerk, reason="测试"),
                          householder_name=others[2].householder_name, heated_area="77")]  # found by ID number
    # the county's own export, re-imported: mostly unchanged, some cells edited, some households
    # whose heat source has since been downgraded (a rule now objects even to an unchanged row)
    downgraded = HeatSource.objects.filter(households__village__code__startswith="140902",
                                           households__state__in=["installed", "accepted", "proven"]).first()
    HeatSource.objects.filter(pk=downgraded.pk).update(kind="waste_heat", grade="C")
    export_households(str(tmp_path / "export.xlsx"), household_queryset(clerk), user=clerk)
    exported = read_rows(tmp_path / "export.xlsx")[1][1:]
    assert exported[0][:1] and len(exported) > 50
    rng = random.Random(3)
    dated = sorted(TEMPLATE_HEADER.index(TEMPLATE_HEADERS[f]) for f in DATE_FIELDS.values())
    assert dated[0] == len(TEMPLATE_HEADER) - len(dated)  # the template's last columns
    path_column = TEMPLATE_HEADER.index(TEMPLATE_HEADERS["heating_path"])
    state_column = TEMPLATE_HEADER.index(TEMPLATE_HEADERS["state"])
    more = random.Random(5)
    for cells in exported:
        cells = ["" if v is None else v for v in cells]
        if rng.random() < 0.25:
            column = rng.randrange(1, len(cells) - len(dated))
            cells[column] = rng.choice(["", "是", "否", "12", "砖木", "已完工", "煤改电", "13900004444", "95", "x"])
        if more.random() < 0.2:  # a step's day instead of the state: before the household's last move, later …
            cells[more.choice(dated)] = more.choice(["2021-01-01", "2024-06-01", "2099-01-01", "x", ""])
            cells[state_column] = ""
        if more.random() < 0.05:
            cells[path_column] = "空气源热泵"
        rows.append(cells)
    sheet = write_sheet(tmp_path / "messy.xlsx", TEMPLATE_HEADER, rows)

    by_column = ledger_import.analyse(sheet, user=clerk, filename="messy.xlsx")
    by_row = ledger_import.analyse(sheet, user=clerk, filename="messy.xlsx", by_row=True)
    assert answer(by_column) == answer(by_row)
    counts = by_column.counts
    # the sheet exercises both ways and every outcome
    assert len(by_column.fast) > 60 and counts["refused"] > 100 and counts["updated"] >= 5
    assert counts["unchanged"] >= len(by_column.unchanged) > 40
    assert any(downgraded.name in p for p in by_column.problems())
    assert any("缺口" in p for p in by_column.problems()), [p for p in by_column.problems() if "气" in p][:5]
    for refusal in ("户主姓名含有不可见的控制字符", "住址（门牌号）含有不可见的控制字符", "采暖面积-5.0㎡不合理",
                    "采暖面积最多保留一位小数"):
        assert any(refusal in p for p in by_column.problems()), refusal
    assert len(by_row.fast) == 0
    # dates: moves through several steps, days taken from a later step (noted), and the refusals
    fast_steps = by_column.fast.steps
    may20 = date(2022, 5, 20)
    assert any(len(steps) == 3 and steps[0][1] == steps[-1][1] == may20 for steps in fast_steps)
    assert len(by_column.fast_notes) > 10
    assert any("“确村确户”、“已选型”未填写日期，按“施工中”的日期2022-05-20记" in n for n in by_column.notes())
    for refusal in ("日期不能晚于今天", "各步日期应按改造顺序先后排列", "早于该户上一次改造状态变更", "不是可识别的日期"):
        assert any(refusal in p for p in by_column.problems()), refusal
    # the path cell names the device type when the sheet leaves the device column empty
    values = by_column.fast.values
    named = {n: d for n, d in zip(values["householder_name"], values["electric_device"]) if n.startswith("热泵")}
    assert named == {"热泵0": "ashp_water", "热泵1": "ashp_water", "热泵2": "ashp_air"}

    written = []
    for result in (by_column, by_row):
        with pytest.raises(RuntimeError):
            with ledger_import.transaction.atomic():
                ledger_import.commit(result, user=clerk, valid_only=True)
                written.append(_snapshot())
                raise RuntimeError("roll back, to write the same file the other way")
    assert written[0] == written[1]
    assert len(written[0][0]) == counts["new"] + counts["updated"] and len(written[0][1]) > counts["new"]
    events = written[0][1]
    planned = [*by_column.fast.steps, *(r.steps for r in by_column.checked if r.action != "refused")]
    assert len(events) == sum(map(len, planned))  # one event per step, each on its planned day
    first_on_may20 = sum(1 for steps in planned if steps and steps[0] == ("confirmed", date(2022, 5, 20)))
    assert sum(1 for e in events if e[2] == "confirmed" and e[3] == date(2022, 5, 20)) == first_on_may20 >= 3


def answer(result):
    return [(r.number, r.action, r.errors, r.notes) for r in result.results]


def test_a_sheet_without_the_facility_column_is_checked_alike_both_ways_with_the_value_picked(tmp_path):
    """The messy rows again, from a sheet lacking 原取暖设施 and 房屋结构: one question, the value
    picked for the whole file, and both ways agree on every row."""
    clerk = make_user("columns_default", "140902", role="county_clerk")
    villages = list(Region.objects.filter(level=4, code__startswith="14090210").order_by("code")[:3])
    existing = Household.objects.filter(village__code__startswith="140902", archived=False).first()
    sources = [HeatSource.objects.filter(kind="waste_heat", grade__in=["A", "B"]).first(), HeatSource.objects.first()]
    rows = _messy_rows(random.Random(11), villages, existing, new_id_number("140928"), sources)[:150]
    keep = [i for i, f in enumerate(TEMPLATE_FIELDS) if f not in ("original_facility", "structure")]
    sheet = write_sheet(tmp_path / "缺列.xlsx", [TEMPLATE_HEADER[i] for i in keep], [[r[i] for i in keep] for r in rows])
    asked = ledger_import.analyse(sheet, user=clerk, filename="缺列.xlsx")
    assert [q.field for q in asked.questions] == ["original_facility", "structure"]
    assert not any("原取暖设施" in p for p in asked.problems())  # said once, not on every row
    picked = {"original_facility": "燃煤炉"}
    by_column = ledger_import.analyse(sheet, user=clerk, filename="缺列.xlsx", defaults=picked)
    by_row = ledger_import.analyse(sheet, user=clerk, filename="缺列.xlsx", defaults=picked, by_row=True)
    assert answer(by_column) == answer(by_row) and len(by_column.fast) > 20
    assert set(by_column.fast.values["original_facility"]) == {"coal_stove"}


def _cells(table):
    return [[v or "" for v in row] for row in table.rows()]


def test_fast_reading_gives_the_text_cell_by_cell_reading_gives(tmp_path):
    import xlsxwriter
    from cleanheat.sheets.cells import as_text
    path = tmp_path / "kinds.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("台账")
    day = wb.add_format({"num_format": "yyyy-mm-dd"})
    ws.write_row(0, 0, ["户主姓名", "家庭人口", "采暖面积", "低保", "状态日期", "备注"])
    ws.write_row(1, 0, [" 张三 ", 3, 88.5, True, "2022/5/1", ""])
    ws.write_datetime(2, 4, __import__("datetime").datetime(2022, 5, 1), day)
    ws.write_row(2, 0, ["李四", 4.0, 90, False])
    ws.write_number(3, 4, 44682)
    wb.close()
    name, table = read_table(path)
    _, rows = read_rows(path)
    assert name == "台账"
    assert _cells(table) == [[as_text(v) for v in row] for row in rows]


def test_merged_cells_and_numbers_excel_rounded_are_read_cell_by_cell(tmp_path):
    rows = [["甲", "1.40902E+17"], ["乙", "x"], ["丙", "y"]]
    merged = write_sheet(tmp_path / "merged.xlsx", ["户主", "村名"], [r[:1] + [""] for r in rows],
                         merges=[(0, 1, 2, 1, "东村")])
    assert [r[1] for r in _cells(read_table(merged)[1])[1:]] == ["东村"] * 3
    number = write_sheet(tmp_path / "number.xlsx", ["户主", "身份证号"], [["甲", "140902197001011237"]],
                         numbers=[(0, 1)])
    assert _cells(read_table(number)[1])[1] == ["甲", "1.40902E+17"]


def test_whole_column_encryption_and_keyed_hashes_match_the_one_value_functions():
    from cleanheat import pii
    values = ["140902197001011237", "", "13900001111"]
    assert pii.blind_index_many(values, "id") == [pii.blind_index(v, "id") for v in values]
    sealed = pii.encrypt_many(values)
    assert sealed[1] == "" and [pii.decrypt(v) for v in sealed] == values
    assert pii.encrypt_many(values)[0] != sealed[0]  # a fresh nonce each time


def test_ids_taken_on_a_second_connection_are_the_ones_written(tmp_path, monkeypatch):
    from cleanheat import bulk
    monkeypatch.setattr(bulk, "RESERVE_IN_BACKGROUND", 1)  # as for a city-sized file
    clerk = make_user("ids_clerk", "140902", role="county_clerk")
    village = Region.objects.filter(level=4, code__startswith="140902").first()
    rows = [template_row(village_code=village.code, householder_name=f"序{i}", id_number=new_id_number("140902"),
                         heated_area="80", original_facility="燃煤炉", heating_path="集中供热") for i in range(3)]
    result = ledger_import.analyse(write_sheet(tmp_path / "ids.xlsx", TEMPLATE_HEADER, rows), user=clerk,
                                   filename="ids.xlsx")
    ledger_import.commit(result, user=clerk)
    created = Household.objects.filter(householder_name__startswith="序", village=village)
    assert created.count() == 3
    assert LifecycleEvent.objects.filter(household__in=created, reason__contains="ids.xlsx").count() == 3


def test_chunks_made_ahead_arrive_in_order_and_a_failure_reaches_the_writer():
    from cleanheat.bulk import _ahead
    assert list(_ahead(iter(range(50)))) == list(range(50))

    def failing():
        yield 1
        raise ValueError("加密失败")
    with pytest.raises(ValueError, match="加密失败"):
        list(_ahead(failing()))





"""Issue 14, parts 4–6: the days a sheet gives for each step become the lifecycle history (and the
progress for past dates), a column a whole file lacks is asked once, and the words clerks use for
values are recognised (data, one test per entry)."""
import json
from datetime import date

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from python_calamine import CalamineWorkbook

from cleanheat.imports import ledger_import
from cleanheat.imports.dates import DATE_FIELDS
from cleanheat.ledger import services
from cleanheat.ledger.choices import ElectricDevice, HeatingPath
from cleanheat.ledger.cleaning import ENUM_OF, SYNONYMS_FILE, enum_value, implied_device
from cleanheat.ledger.models import Household, HouseholdChange, LifecycleEvent
from cleanheat.plan.progress import counts_on
from cleanheat.regions.models import Region
from cleanheat.rules.models import GasContract
from cleanheat.sheets.headers import SYNONYMS, TEMPLATE_HEADERS, column_letter, field_for, normalise_header

from .conftest import make_user
from .factories import accept, new_id_number
from .sheets import TEMPLATE_HEADER, template_row, write_sheet

SYNONYM_DATA = json.loads(SYNONYMS_FILE.read_text(encoding="utf-8"))
VALUE_WORDS = [(f, word, value) for f, words in SYNONYM_DATA["values"].items() for word, value in words.items()]


@pytest.fixture
def clerk(db):
    return make_user("dates_clerk", "140902", role="county_clerk")


@pytest.fixture
def village(db):
    return Region.objects.filter(level=4, code__startswith="140902").order_by("code")[5]


def new_row(village, **cells):
    values = dict(village_code=village.code, householder_name="日期户", id_number=new_id_number("140902"),
                  heated_area="90", original_facility="燃煤炉", heating_path="空气源热泵")
    values.update(cells)
    return template_row(**values)


def run(tmp_path, name, rows, user, header=TEMPLATE_HEADER, **kw):
    result = ledger_import.analyse(write_sheet(tmp_path / name, header, rows), user=user, filename=name, **kw)
    ledger_import.commit(result, user=user)
    return result


def events_of(household):
    return list(household.lifecycle_events.order_by("id").values_list("from_state", "to_state", "occurred_on"))


def where(field):
    """The cell reference a message names for a template column."""
    header = TEMPLATE_HEADERS[field]
    return f"{column_letter(TEMPLATE_HEADER.index(header))}列“{header}”"


# ---- dates become the lifecycle history, and progress for a past date follows them

SHEET = [  # householder, cells, the state each has reached on 2022-08-31 and on 2022-09-30 (None: not yet)
    ("甲", dict(confirmed_on="2022-03-01", installed_on="2022-09-30"), "confirmed", "installed"),
    # 已验收 needs an acceptance record, which a new household has not: it stays at 已完工 (issue #18)
    ("乙", dict(confirmed_on="2022/4/5", selected_on="2022-05-10", installing_on="2022年6月1日",
               installed_on="2022-08-15", accepted_on="2022-09-01"), "installed", "installed"),
    ("丙", dict(state="已选型", state_date="2022-07-01"), "selected", "selected"),
    ("丁", dict(confirmed_on="2022-10-10"), None, None),
    ("戊", dict(state="施工中", selected_on="2022-06-20", installing_on=44743), "installing", "installing"),  # 2022-07-01
]


def test_an_import_with_dates_writes_each_step_on_its_day_and_progress_for_a_past_date_follows(clerk, village,
                                                                                             tmp_path):
    days = [date(2022, 8, 31), date(2022, 9, 30)]
    before = [counts_on(village.code, 12, day).get(village.code, {}) for day in days]
    result = run(tmp_path, "带日期.xlsx", [new_row(village, householder_name=name, **cells)
                                          for name, cells, _, _ in SHEET], clerk)
    assert result.counts == {"new": 5, "updated": 0, "unchanged": 0, "refused": 0}
    created = {h.householder_name: h for h in Household.objects.filter(village=village,
                                                                       changes__source__startswith="带日期.xlsx")}
    assert events_of(created["甲"]) == [("", "confirmed", date(2022, 3, 1)),
                                       ("confirmed", "selected", date(2022, 9, 30)),
                                       ("selected", "installing", date(2022, 9, 30)),
                                       ("installing", "installed", date(2022, 9, 30))]
    assert [d for _, _, d in events_of(created["乙"])] == [date(2022, 4, 5), date(2022, 5, 10), date(2022, 6, 1),
                                                           date(2022, 8, 15)]
    assert any(n.startswith("第3行：没有该户的验收记录") and "该户保留为“已完工”" in n for n in result.notes())
    assert events_of(created["丁"]) == [("", "confirmed", date(2022, 10, 10))]
    assert events_of(created["戊"])[0] == ("", "confirmed", date(2022, 6, 20))  # took the next known day
    assert {h.state for h in created.values()} == {"installed", "selected", "confirmed", "installing"}
    assert created["甲"].electric_device == "ashp_water"  # the path cell 空气源热泵 names the device
    # the dry run said which steps took another step's day
    assert "第2行：“已选型”、“施工中”未填写日期，按“已完工”的日期2022-09-30记" in result.notes()
    assert any(n.startswith("第4行：“确村确户”未填写日期，按状态日期2022-07-01记") for n in result.notes())
    for k, day in enumerate(days):
        after = counts_on(village.code, 12, day)[village.code]
        hand = {}
        for _, _, *reached in SHEET:
            if reached[k]:
                hand[("electric", reached[k])] = hand.get(("electric", reached[k]), 0) + 1
        assert hand and {key: after[key] - before[k].get(key, 0) for key in after
                         if after[key] != before[k].get(key, 0)} == hand


def test_an_existing_household_moves_through_the_steps_its_dates_name_each_under_the_plans_rules(clerk, village,
                                                                                                tmp_path):
    run(tmp_path, "建档.xlsx", [new_row(village, householder_name="先立", installed_on="2022-09-30",
                                       accepted_on="2022-10-20")], clerk)
    household = Household.objects.get(householder_name="先立", village=village)
    assert household.state == "installed"  # 已验收 needs the acceptance record (issue #18)
    accept(household, user=clerk, on=date(2022, 10, 20))
    # 先立后破: the first heating season after commissioning (2022-11-03 to 2023-03-27) is not over yet
    early = ledger_import.analyse(write_sheet(tmp_path / "早.xlsx", TEMPLATE_HEADER, [
        template_row(household_no=household.household_no, proven_on="2023-01-15")]), user=clerk, filename="早.xlsx")
    assert early.counts["refused"] == 1
    assert any(p.startswith(f"第2行，{where('proven_on')}") and "尚未结束" in p and "先立后破" in p
               for p in early.problems()), early.problems()
    no_consent = ledger_import.analyse(write_sheet(tmp_path / "未同意.xlsx", TEMPLATE_HEADER, [
        template_row(household_no=household.household_no, proven_on="2023-04-01", removed_on="2023-05-01")]),
        user=clerk, filename="未同意.xlsx")
    assert any(p.startswith(f"第2行，{where('removed_on')}") and "居民同意" in p for p in no_consent.problems())
    later = run(tmp_path, "拆除.xlsx", [template_row(household_no=household.household_no, proven_on="2023-04-01",
                                                    removed_on="2023-05-01", removal_consent_on="2023-04-20")],
                clerk)
    assert later.counts["updated"] == 1
    household.refresh_from_db()
    assert household.state == "removed"
    assert events_of(household)[-2:] == [("accepted", "proven", date(2023, 4, 1)),
                                         ("proven", "removed", date(2023, 5, 1))]
    lines = HouseholdChange.objects.filter(household=household, field="state", source="拆除.xlsx")
    assert sorted(lines.values_list("old_value", "new_value")) == [("accepted", "proven"), ("proven", "removed")]
    # a day before the household's last move is refused, naming the cell
    stale = ledger_import.analyse(write_sheet(tmp_path / "旧.xlsx", TEMPLATE_HEADER, [
        template_row(household_no=household.household_no, removed_on="2023-04-20")]), user=clerk, filename="旧.xlsx")
    assert stale.counts == {"new": 0, "updated": 0, "unchanged": 1, "refused": 0}  # already removed: nothing moves


def test_a_gas_household_cannot_be_dated_past_confirmed_without_a_gas_contract(clerk, village, tmp_path):
    GasContract.objects.filter(villages=village).delete()
    household = services.create_household({"village": village.code, "householder_name": "气户",
                                           "id_number": new_id_number(), "heated_area": "80",
                                           "original_facility": "kang", "heating_path": "gas"}, user=clerk)
    result = ledger_import.analyse(write_sheet(tmp_path / "气.xlsx", TEMPLATE_HEADER, [
        template_row(household_no=household.household_no, installing_on=timezone.localdate().isoformat())]), user=clerk,
        filename="气.xlsx")
    assert any(p.startswith(f"第2行，{where('installing_on')}") and "以气定改" in p for p in result.problems()), \
        result.problems()
    assert LifecycleEvent.objects.filter(household=household).count() == 1


def test_new_households_cannot_start_after_a_season_and_bad_dates_name_their_cell(clerk, village, tmp_path):
    rows = [new_row(village, removed_on="2023-05-01"),
            new_row(village, confirmed_on="2022-06-01", installed_on="2022-05-01"),
            new_row(village, installed_on="2099-01-01"),
            new_row(village, state="已选型", accepted_on="2022-10-01"),
            new_row(village, confirmed_on="三月")]
    problems = ledger_import.analyse(write_sheet(tmp_path / "错.xlsx", TEMPLATE_HEADER, rows), user=clerk,
                                     filename="错.xlsx").problems()
    expect = [(2, "removed_on", "先立后破"), (3, "installed_on", "早于“确村确户”的日期2022-06-01"),
              (4, "installed_on", "晚于今天"), (5, "accepted_on", "改造状态为“已选型”"),
              (6, "confirmed_on", "不是可识别的日期")]
    for number, field, words in expect:
        assert any(p.startswith(f"第{number}行，{where(field)}") and words in p for p in problems), (number, problems)


def test_notes_show_in_the_preview_and_in_the_problem_workbook(client, clerk, village, tmp_path):
    client.force_login(clerk)
    sheet = write_sheet(tmp_path / "提示.xlsx", TEMPLATE_HEADER,
                        [new_row(village, installed_on="2022-09-30"), new_row(village, phone="1")])
    with open(sheet, "rb") as fh:
        job_url = client.post("/imports/", {"file": fh}).url
    page = client.get(job_url).content.decode()
    assert "提示（共1行" in page and "第2行：“确村确户”、“已选型”、“施工中”未填写日期，按“已完工”的日期2022-09-30记" in page
    report = tmp_path / "report.xlsx"
    report.write_bytes(b"".join(client.get(job_url + "report.xlsx").streaming_content))
    rows = CalamineWorkbook.from_path(str(report)).get_sheet_by_index(0).to_python()
    said = {row[-2]: row[-1] for row in rows[1:]}  # 原行号 and 问题说明 follow the uploaded columns
    assert "手机号" in said[3] and said[2].startswith("第2行：提示：“确村确户”")


def test_a_sheet_without_step_dates_says_so_once(clerk, village, tmp_path):
    header = [h for h in TEMPLATE_HEADER if h not in {TEMPLATE_HEADERS[f] for f in DATE_FIELDS.values()}]
    rows = [[c for h, c in zip(TEMPLATE_HEADER, new_row(village, state=state, state_date=day)) if h in header]
            for state, day in (("已完工", "2022-09-30"), ("施工中", ""), ("", "2022-03-01"))]
    result = ledger_import.analyse(write_sheet(tmp_path / "无日期.xlsx", header, rows), user=clerk,
                                   filename="无日期.xlsx")
    assert result.notes() == [] and result.counts["new"] == 3
    assert [n for n in result.notices() if "没有各步日期列" in n] == [
        "表中没有各步日期列：2户到达改造状态之前的各步按状态日期记（未填状态日期的按导入当天记）；"
        "如有确户日期、完工日期等，请加列填写"]
    ledger_import.commit(result, user=clerk)
    first = Household.objects.get(changes__source__startswith="无日期.xlsx", state="installed")
    assert {d for _, _, d in events_of(first)} == {date(2022, 9, 30)}


# ---- a column the whole file lacks is a question, not a refusal

LACKING = [h for h in TEMPLATE_HEADER if h not in (TEMPLATE_HEADERS["original_facility"], TEMPLATE_HEADERS["structure"])]


def lacking_rows(village, n=2, **cells):
    return [[c for h, c in zip(TEMPLATE_HEADER, new_row(village, householder_name=f"缺列{i}", original_facility="",
                                                      **cells)) if h in LACKING] for i in range(n)]


def test_the_preview_asks_once_for_a_missing_column_and_the_choice_goes_into_the_history(client, clerk, village,
                                                                                       tmp_path):
    client.force_login(clerk)
    sheet = write_sheet(tmp_path / "缺原设施.xlsx", LACKING, lacking_rows(village))
    with open(sheet, "rb") as fh:
        job_url = client.post("/imports/", {"file": fh}).url
    page = client.get(job_url).content.decode()
    assert page.count("表中没有“原取暖设施”列（新建档必填）") == 1 and 'name="default_original_facility"' in page
    assert 'id="count-new">2<' in page and 'id="count-refused">0<' in page and 'name="mode"' not in page
    client.post(job_url + "commit/", {"mode": "all"})
    assert not Household.objects.filter(householder_name__startswith="缺列").exists()
    client.post(job_url + "defaults/", {"default_original_facility": "coal_stove", "default_structure": "brick_wood"})
    page = client.get(job_url).content.decode()
    assert "新建档的户按整表默认值“燃煤炉”记" in page and 'name="mode"' in page
    client.post(job_url + "commit/", {"mode": "all"})
    created = Household.objects.filter(householder_name__startswith="缺列", village=village)
    assert created.count() == 2 and {(h.original_facility, h.structure) for h in created} == {("coal_stove",
                                                                                               "brick_wood")}
    source = HouseholdChange.objects.get(household=created[0], field="created").source
    assert source == "缺原设施.xlsx（原取暖设施按整表默认值：燃煤炉；房屋结构按整表默认值：砖木）"
    assert LifecycleEvent.objects.filter(household=created[0], reason__contains="原取暖设施按整表默认值：燃煤炉").exists()


def test_a_picked_value_must_be_one_of_the_fields(client, clerk, village, tmp_path):
    client.force_login(clerk)
    with open(write_sheet(tmp_path / "缺.xlsx", LACKING, lacking_rows(village)), "rb") as fh:
        job_url = client.post("/imports/", {"file": fh}).url
    page = client.post(job_url + "defaults/", {"default_original_facility": "柴灶"}, follow=True).content.decode()
    assert "整表默认值：“柴灶”不是有效的原取暖设施" in page and 'name="mode"' not in page


def test_the_command_takes_the_value_for_the_whole_file(clerk, village, tmp_path, capsys):
    sheet = write_sheet(tmp_path / "命令缺列.xlsx", LACKING, lacking_rows(village, 1))
    with pytest.raises(CommandError, match="原取暖设施"):
        call_command("import_ledger", str(sheet), "--user", "dates_clerk", "--commit")
    assert "表中没有“原取暖设施”列（新建档必填）" in capsys.readouterr().out
    with pytest.raises(CommandError, match="不是有效的原取暖设施"):
        call_command("import_ledger", str(sheet), "--user", "dates_clerk", "--default", "original_facility=柴灶")
    with pytest.raises(CommandError, match="不能按整表设定默认值"):
        call_command("import_ledger", str(sheet), "--user", "dates_clerk", "--default", "phone=139")
    call_command("import_ledger", str(sheet), "--user", "dates_clerk", "--default", "原取暖设施=燃煤炉", "--commit")
    household = Household.objects.get(householder_name="缺列0", village=village)
    assert household.original_facility == "coal_stove" and household.structure == "brick_concrete"
    assert HouseholdChange.objects.get(household=household, field="created").source == \
        "命令缺列.xlsx（原取暖设施按整表默认值：燃煤炉；房屋结构按整表默认值：砖混）"


def test_no_question_when_the_file_only_updates_households(clerk, village, tmp_path):
    existing = Household.objects.filter(village__code__startswith="140902", archived=False).first()
    header = ["户编号", "户主姓名", "住址（门牌号）"]
    result = ledger_import.analyse(write_sheet(tmp_path / "只更新.xlsx", header,
                                               [[existing.household_no, existing.householder_name, "新门牌"]]),
                                   user=clerk, filename="只更新.xlsx")
    assert result.questions == [] and result.counts["updated"] == 1


# ---- the words clerks use for values are data, one test per entry

@pytest.mark.parametrize("field, word, value", VALUE_WORDS, ids=[f"{f}-{w}" for f, w, _ in VALUE_WORDS])
def test_each_synonym_means_its_value(field, word, value):
    enum = ENUM_OF[field]
    assert value in enum.values
    assert enum_value(word, enum, field) == value
    assert enum_value(f" {word} ", enum, field) == value  # as typed, with stray spaces


@pytest.mark.parametrize("word, device", sorted(SYNONYM_DATA["path_devices"].items()))
def test_each_path_word_naming_a_device_is_coal_to_electric_with_that_device(word, device):
    assert enum_value(word, HeatingPath, "取暖路径") == HeatingPath.ELECTRIC
    assert device in ElectricDevice.values and implied_device(word) == device


@pytest.mark.parametrize("by_row", [False, True])
def test_the_path_cell_keeps_the_device_type_when_the_sheet_has_no_device_column(clerk, village, tmp_path, by_row):
    header = ["村区划代码", "户主姓名", "身份证号", "采暖面积", "原取暖设施", "取暖路径", "改造状态"]
    paths = [("空气源热泵", "已选型"), ("空气能", "已选型"), ("空气源热泵热风机", "已选型"), ("集中供暖", ""),
             ("燃气壁挂炉", ""), ("电采暖", "已选型")]
    rows = [[village.code, f"路径{i}", new_id_number("140902"), "88", "燃煤炉", path, state]
            for i, (path, state) in enumerate(paths)]
    result = ledger_import.analyse(write_sheet(tmp_path / "路径.xlsx", header, rows), user=clerk,
                                   filename="路径.xlsx", by_row=by_row)
    assert [r.action for r in result.results] == ["new"] * 5 + ["refused"]
    # 电采暖 names the path only: 已选型 needs the device type
    assert [p for p in result.problems() if p.startswith("第7行")] == [
        "第7行：煤改电用户已选型，须填写煤改电设备类型"]
    built = [(r.household.heating_path, r.household.electric_device) for r in result.checked if r.household] \
        if by_row else list(zip(result.fast.values["heating_path"], result.fast.values["electric_device"]))
    assert built == [("electric", "ashp_water"), ("electric", "ashp_water"), ("electric", "ashp_air"),
                     ("central", ""), ("gas", "")]


def test_every_date_column_name_is_recognised_and_no_header_word_names_two_fields():
    for f in DATE_FIELDS.values():
        assert all(field_for(name) == f for name in SYNONYMS[f])
    assert field_for("竣工日期") == "installed_on" and field_for("签约日期") == "confirmed_on"
    fields_of = {}
    for f, names in SYNONYMS.items():
        for name in names:
            fields_of.setdefault(normalise_header(name), set()).add(f)
    assert {word: fs for word, fs in fields_of.items() if len(fs) > 1} == {}

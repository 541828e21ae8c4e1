"""Recognising the header row of a county's ledger sheet, whatever it calls its columns.

Pure functions, no Django. Headers are compared after normalising: half-width characters,
no spaces, no bracketed notes (县（市、区） → 县, 采暖面积（㎡） → 采暖面积), no * markers.
"""
import re

from cleanheat.inputs import normalise_text

# field → what clerks call it. The first name is the template's header.
SYNONYMS = {
    "household_no": ["户编号", "户号", "用户编号", "用户编码", "台账编号"],
    "county": ["县（市、区）", "县区", "县市区", "区县", "县"],
    "township": ["乡（镇、街道）", "乡镇", "乡镇街道", "镇", "街道"],
    "village": ["村（社区）", "村名", "行政村", "社区", "村"],
    "village_code": ["村区划代码", "村代码", "区划代码", "统计用区划代码"],
    "householder_name": ["户主姓名", "户主", "姓名", "户主名称"],
    "id_number": ["身份证号", "身份证", "身份证号码", "户主身份证号", "公民身份号码", "证件号码"],
    "phone": ["联系电话", "电话", "手机", "手机号", "手机号码", "联系方式"],
    "bank_account": ["补贴发放账号", "银行账号", "银行卡号", "一卡通账号", "社保卡号"],
    "electricity_account": ["电力户号", "用电户号", "供电户号", "电表户号", "国网户号", "电费户号", "电力用户编号"],
    "gas_account": ["燃气户号", "用气户号", "燃气用户号", "燃气卡号", "燃气用户编号", "天然气户号"],
    "address": ["住址（门牌号）", "住址", "地址", "门牌号", "详细地址", "家庭住址"],
    "household_size": ["家庭人口", "人口", "家庭人口数", "人口数"],
    "is_dibao": ["低保", "是否低保", "低保户"],
    "is_tekun": ["特困", "是否特困", "特困户", "特困供养"],
    "is_tuopin": ["脱贫", "是否脱贫", "脱贫户", "建档立卡"],
    "is_canji": ["残疾", "是否残疾", "残疾人"],
    "heated_area": ["采暖面积（㎡）", "采暖面积", "取暖面积", "供暖面积", "面积"],
    "structure": ["房屋结构", "结构", "建筑结构"],
    "envelope_retrofitted": ["围护结构节能改造", "围护结构改造", "节能改造", "是否节能改造"],
    "envelope_gain_pct": ["节能改造能效提升（%）", "能效提升", "能效提升比例", "综合能效提升比例"],
    "original_facility": ["原取暖设施", "原取暖方式", "原有设施", "原取暖设备"],
    "heating_path": ["取暖路径", "改造方式", "改造类型", "改造路径", "能源类型", "清洁取暖方式"],
    "electric_device": ["煤改电设备类型", "设备类型", "电取暖设备"],
    "heat_source": ["热源", "接入热源", "热源名称"],
    "removal_consent_on": ["居民同意拆除日期", "拆除同意日期", "同意拆除日期"],
    "state": ["改造状态", "状态", "进度", "改造进度"],
    "plan_year": ["计划年度", "年度", "改造年度", "实施年度", "所属年度", "计划年份"],
    "acceptance_no": ["验收记录编号", "验收编号", "验收单编号"],
    "state_date": ["状态日期", "完成日期", "变更日期", "日期"],
    # the day each lifecycle step was reached (the import records each step on its day)
    "confirmed_on": ["确户日期", "确村确户日期", "签约日期", "摸底日期", "建档日期"],
    "selected_on": ["选型日期", "设备选型日期", "选型时间"],
    "installing_on": ["开工日期", "施工日期", "开始施工日期", "进场日期", "动工日期", "开工时间"],
    "installed_on": ["完工日期", "竣工日期", "安装完成日期", "安装日期", "施工完成日期", "完工时间", "投用日期"],
    "accepted_on": ["验收日期", "竣工验收日期", "验收时间", "验收通过日期"],
    "proven_on": ["稳定运行日期", "稳定运行满一个采暖季日期", "稳定运行确认日期"],
    "removed_on": ["拆除日期", "原设施拆除日期", "拆除时间", "拆炉日期"],
}
TEMPLATE_HEADERS = {field: names[0] for field, names in SYNONYMS.items()}
TOTAL_WORDS = ("合计", "小计", "总计")


def normalise_header(text) -> str:
    text = normalise_text(text)
    text = re.sub(r"[（(][^）)]*[）)]", "", text)
    return text.replace("*", "").replace("：", "").replace(":", "").lower()


_LOOKUP = {normalise_header(name): field for field, names in SYNONYMS.items() for name in names}


def field_for(header) -> str | None:
    return _LOOKUP.get(normalise_header(header))


def find_header(rows, scan=20) -> tuple[int, dict[int, str], list[str]]:
    """Index of the header row, {column: field}, and the ignored column headers.

    The header is the row among the first `scan` with the most recognised names (title and
    note rows above it are skipped); it must name the householder or the household number."""
    best, best_index = {}, -1
    for index, row in enumerate(rows[:scan]):
        found = {}
        for col, cell in enumerate(row):
            field = field_for(cell) if cell not in (None, "") else None
            if field and field not in found.values():
                found[col] = field
        if len(found) > len(best):
            best, best_index = found, index
    if best_index < 0 or len(best) < 3 or not ({"householder_name", "household_no"} & set(best.values())):
        raise ValueError("未找到表头：前20行中没有一行包含“户主姓名”“身份证号”“采暖面积”等列名，"
                         "请使用标准模板或检查表头")
    ignored = [str(cell).strip() for col, cell in enumerate(rows[best_index])
               if col not in best and str(cell or "").strip()]
    return best_index, best, ignored


def is_total_row(row) -> bool:
    first = next((str(c).strip() for c in row if str(c or "").strip()), "")
    return any(first.replace(" ", "").startswith(word) for word in TOTAL_WORDS)


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters

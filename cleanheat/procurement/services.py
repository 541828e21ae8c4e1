"""Every procurement write: tender catalog (import and edit), county contracts, allocations.
UI, API, commands and the demo all come through here; each write is atomic and leaves history."""
import json
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from cleanheat import inputs
from cleanheat.access import has_perm
from cleanheat.accounts import roles
from cleanheat.audit.services import record
from cleanheat.ledger import history
from cleanheat.ledger import services as ledger
from cleanheat.ledger.choices import STATE_ORDER, Channel, ElectricDevice, LifecycleState
from cleanheat.ledger.models import Household
from cleanheat.regions.scope import user_prefix
from cleanheat.sheets.cells import as_text
from cleanheat.sheets.headers import column_letter, is_total_row, normalise_header
from cleanheat.sheets.reader import read_rows
from cleanheat.versions import StaleEdit, row_version

from . import batch, sizing
from .catalog_rules import CATALOG_VALUES, Problem, catalog_problems, model_problems, problem_errors, unusable_models
from .models import (
    PATH_OF_TYPE,
    Advice,
    AdvisorConfig,
    Allocation,
    CatalogModel,
    ContractLine,
    CountyClimate,
    CountyContract,
    EnvelopeType,
    EquipmentType,
    GridCapacity,
    TenderLot,
)

DATA = Path(__file__).resolve().parent / "data" / "xinzhou-2022-procurement.json"
INSTALLED = STATE_ORDER.index(LifecycleState.INSTALLED)
# What a contract line outside the caller's area answers: the same as one that does not exist.
LINE_NOT_FOUND = "未找到该合同明细"
MAX_QUANTITY = 1_000_000  # units of one model in one county's contract: far above any, within the database's integer
CONTRACT_TEXTS = ("contract_no", "vendor", "title", "note")
# The tender's results sheet: our template's headers and the other spellings seen.
CATALOG_COLUMNS = [  # field, header in our template, other spellings seen in tender result sheets
    ("tender_no", "招标编号", ["项目编号", "招标项目编号"]),
    ("lot_code", "标段", ["包号", "标包", "分包"]),
    ("lot_name", "标段名称", ["包名称", "分包名称"]),
    ("vendor", "中标企业", ["中标人", "中标单位", "供应商", "中标供应商", "生产企业"]),
    ("equipment_type", "设备类型", ["产品类型", "设备类别"]),
    ("model_name", "型号", ["规格型号", "产品型号", "设备型号"]),
    ("rated_capacity_kw", "名义制热量kW", ["额定制热量kW", "制热量kW", "额定功率kW", "额定热功率kW"]),
    ("cap_7", "7℃制热量kW", []), ("cop_7", "7℃COP", []),
    ("cap_-12", "-12℃制热量kW", ["零下12℃制热量kW"]), ("cop_-12", "-12℃COP", ["零下12℃COP"]),
    ("cap_-20", "-20℃制热量kW", ["零下20℃制热量kW"]), ("cop_-20", "-20℃COP", ["零下20℃COP"]),
    ("cap_-25", "-25℃制热量kW", ["零下25℃制热量kW"]), ("cop_-25", "-25℃COP", ["零下25℃COP"]),
    ("seasonal_efficiency", "季节能效", ["季节性能系数", "APF", "HSPF", "热效率", "制热季节性能系数"]),
    ("min_operating_temp_c", "最低运行温度℃", ["最低工作温度℃", "最低运行环境温度℃"]),
    ("efficiency_grade", "能效等级", ["能效级别"]),
    ("unit_price", "设备单价元", ["中标单价元", "单价元", "中标价元", "设备单价"]),
    ("install_price", "安装费元", ["安装费用元", "安装价格元"]),
    ("warranty_years", "质保年限", ["质保期年", "质保期"]),
    ("repair_contact", "维修服务电话", ["售后电话", "维修电话", "服务电话"]),
    ("year", "年度", ["招标年度"]),
    ("county_code", "招标县区划代码", ["县区划代码"]),
]
REQUIRED = ["tender_no", "lot_code", "vendor", "equipment_type", "model_name", "rated_capacity_kw",
            "seasonal_efficiency", "unit_price"]
RATING_TEMPS = [7, -12, -20, -25]
IMPORT_VALUES = [*CATALOG_VALUES, "vendor", "model_name", "repair_contact"]
_HEADERS = {}
for _field, _header, _others in CATALOG_COLUMNS:
    for _name in [_header, *_others]:
        _HEADERS[normalise_header(_name).replace("℃", "").replace("°c", "").replace("kw", "").replace("元", "")] = _field

# ---- reference data (climate, envelopes, parameters, the demo catalog)

def read_spec(path: Path = DATA) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


@transaction.atomic
def load_reference(spec: dict) -> None:
    config = spec["config"]
    city = config["city_code"]
    for c in spec["climate"]:
        CountyClimate.objects.update_or_create(city_code=city, county_code=c["county_code"], defaults={
            k: c[k] for k in ("station", "design_temp_c", "heating_days", "mean_temp_c", "source", "estimated")})
    for e in spec["envelope"]:
        EnvelopeType.objects.update_or_create(structure=e["structure"],
                                              defaults={k: v for k, v in e.items() if k != "structure"})
    AdvisorConfig.objects.update_or_create(city_code=city, year=config["year"], defaults={
        k: v for k, v in config.items() if k not in ("city_code", "year")})
    for row in [*CountyClimate.objects.filter(city_code=city), *EnvelopeType.objects.all(),
                *AdvisorConfig.objects.filter(city_code=city)]:
        row.clean()   # the admin's plausibility checks; a failure undoes the whole load


@transaction.atomic
def load_catalog(lots: list[dict]) -> int:
    count = 0
    for lot_data in lots:
        lot, _ = TenderLot.objects.update_or_create(
            tender_no=lot_data["tender_no"], code=lot_data["code"],
            defaults={"name": lot_data["name"], "year": lot_data["year"], "path": lot_data["path"],
                      "county_code": lot_data.get("county_code", "")})
        for m in lot_data["models"]:
            if problems := catalog_problems(m):
                raise ValidationError({f"{m['vendor']} {m['model_name']}": [str(p) for p in problems]})
            CatalogModel.objects.update_or_create(lot=lot, vendor=m["vendor"], model_name=m["model_name"],
                                                  defaults={k: v for k, v in m.items() if k not in ("vendor", "model_name")})
            count += 1
    return count


def _county_prefix(user) -> str:
    """Tenders and contracts are a county's: users of its townships see them too."""
    return user_prefix(user)[:6]


def visible_models(user):
    """The city's tender is everyone's; a county's own tender only its county's (and the city's)."""
    return CatalogModel.objects.filter(Q(lot__county_code="") | Q(lot__county_code__startswith=_county_prefix(user)))


def visible_contracts(user):
    return CountyContract.objects.filter(county_code__startswith=_county_prefix(user))


def visible_lines(user):
    return ContractLine.objects.filter(contract__county_code__startswith=_county_prefix(user))


def catalog_warnings(user) -> list[tuple[CatalogModel, str]]:
    """For those who can fix the catalog: the active models the calculation skips, and why."""
    if not has_perm(user, roles.CATALOG):
        return []
    return unusable_models(visible_models(user).filter(active=True).select_related("lot"))


# ---- the tender's results sheet

def _catalog_field(header) -> str | None:
    key = normalise_header(header).replace("℃", "").replace("°c", "").replace("kw", "").replace("元", "")
    return _HEADERS.get(key)


def _type_of(text: str) -> str | None:
    text = normalise_header(text)
    for value, label in EquipmentType.choices:
        if text in (value, normalise_header(label)):
            return value
    for words, value in (("热水", "ashp_water"), ("热风", "ashp_air"), ("蓄热", "storage"), ("直热", "direct"),
                         ("电暖", "direct"), ("壁挂", "gas_boiler"), ("燃气", "gas_boiler"),
                         ("生物质", "biomass_boiler"), ("颗粒", "biomass_boiler"), ("地源", "ground_source"),
                         ("水源", "water_source"), ("太阳能", "solar_assisted"), ("空气源", "ashp_water")):
        if words in text:
            return value
    return None


def _number(text, label, errors, where, *, required=False, integer=False):
    text = as_text(text).replace(",", "").replace("，", "").replace("元", "").replace("kW", "").strip()
    if not text:
        if required:
            errors.append(f"{where}“{label}”不能为空")
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        errors.append(f"{where}“{label}”应为数字，实际为“{text}”")
        return None
    if not value.is_finite():
        errors.append(f"{where}“{label}”应为有限的数字，实际为“{text}”")
        return None
    if value < 0 and label not in ("最低运行温度℃",):
        errors.append(f"{where}“{label}”不能为负数")
        return None
    if integer and value != value.to_integral_value():
        errors.append(f"{where}“{label}”应为整数，实际为“{text}”")
        return None
    return int(value) if integer else value


def _column_of(problem: Problem, points: list[dict]) -> str:
    """The sheet column a catalog problem of an imported row lies in."""
    if problem.point is not None and problem.key in ("kw", "cop"):
        return f"{'cap' if problem.key == 'kw' else 'cop'}_{points[problem.point]['t']}"
    return problem.field


def parse_catalog_sheet(path) -> tuple[list[dict], list[str]]:
    """Rows of a tender results sheet → model dicts, and Chinese problems naming row and column."""
    _, rows = read_rows(path)
    header_index, columns = -1, {}
    for index, row in enumerate(rows[:20]):
        found = {col: f for col, cell in enumerate(row) if cell not in (None, "") and (f := _catalog_field(cell))}
        if len(found) > len(columns):
            header_index, columns = index, found
    missing = [h for f, h, _ in CATALOG_COLUMNS if f in REQUIRED and f not in columns.values()]
    if header_index < 0 or missing:
        return [], [f"未找到表头或缺少必需的列：{'、'.join(missing)}（请使用“中标产品导入模板”）"]
    labels = {f: h for f, h, _ in CATALOG_COLUMNS}
    present = set(columns.values())
    out, errors = [], []
    for r, row in enumerate(rows[header_index + 1:], start=header_index + 2):
        values = {f: row[c] if c < len(row) else None for c, f in columns.items()}
        if not any(as_text(v) for v in values.values()) or is_total_row(row):
            continue
        problems = []

        def where(f):
            col = next(c for c, ff in columns.items() if ff == f)
            return f"第{r}行{column_letter(col)}列"
        item = {f: as_text(values.get(f)) for f in ("tender_no", "lot_code", "lot_name", "vendor", "model_name",
                                                    "repair_contact", "county_code")}
        for f in ("tender_no", "lot_code", "vendor", "model_name"):
            if not item[f]:
                problems.append(f"{where(f)}“{labels[f]}”不能为空")
        kind = _type_of(as_text(values.get("equipment_type")))
        if kind is None:
            problems.append(f"{where('equipment_type')}“设备类型”无法识别：“{as_text(values.get('equipment_type'))}”"
                            f"，可填：{'、'.join(str(lbl) for _, lbl in EquipmentType.choices)}")
        item["equipment_type"] = kind
        for f in ("rated_capacity_kw", "seasonal_efficiency", "unit_price", "install_price", "min_operating_temp_c"):
            if f in present:
                item[f] = _number(values.get(f), labels[f], problems, where(f), required=f in REQUIRED)
        for f in ("efficiency_grade", "warranty_years", "year"):
            if f in present:
                item[f] = _number(values.get(f), labels[f], problems, where(f), integer=True)
        points = []
        for t in RATING_TEMPS:
            cap_f, cop_f = f"cap_{t}", f"cop_{t}"
            cap = _number(values.get(cap_f), labels[cap_f], problems, where(cap_f)) if cap_f in present else None
            cop = _number(values.get(cop_f), labels[cop_f], problems, where(cop_f)) if cop_f in present else None
            if cap is not None:
                points.append({"t": t, "kw": float(cap), "cop": float(cop) if cop is not None else None})
            elif cop is not None:
                problems.append(f"{where(cop_f)}填了{t}℃的COP但没有填该工况的制热量")
        item["rating_points"] = points
        for f, name in (("tender_no", "tender_no"), ("lot_code", "code"), ("lot_name", "name")):
            if len(item[f]) > (limit := TenderLot._meta.get_field(name).max_length):
                problems.append(f"{where(f)}“{labels[f]}”不能超过{limit}个字符")
        if not problems:   # the catalog's own rules, once every cell of the row reads
            for problem in catalog_problems({k: item[k] for k in IMPORT_VALUES if item.get(k) is not None}):
                column = _column_of(problem, points)
                problems.append(f"{where(column)}“{labels[column]}”{problem.reason}" if column in present else
                                f"第{r}行“{labels[column]}”{problem.reason}（表中没有此列）" if column in labels else
                                f"第{r}行：{problem}")
        if item.get("county_code") and not re.fullmatch(r"\d{6}", item["county_code"]):
            problems.append(f"{where('county_code')}“招标县区划代码”应为6位数字")
        if problems:
            errors.extend(problems)
        else:
            item["row"] = r
            out.append(item)
    seen = {}
    for item in out:
        key = (item["tender_no"], item["lot_code"], item["vendor"], item["model_name"])
        if key in seen:
            errors.append(f"第{item['row']}行与第{seen[key]}行重复：同一标段同一企业同一型号")
        seen[key] = item["row"]
    return out, errors


@transaction.atomic
def import_catalog(path, *, user=None, filename="", year=None) -> dict:
    """All or nothing: a sheet with any problem changes nothing and returns the problems."""
    items, errors = parse_catalog_sheet(path)
    if errors:
        raise ValidationError({"__all__": errors})
    year = year or timezone.localdate().year
    created = updated = 0
    for item in items:
        lot, _ = TenderLot.objects.get_or_create(
            tender_no=item["tender_no"], code=item["lot_code"],
            defaults={"name": item.get("lot_name") or item["lot_code"], "year": item.get("year") or year,
                      "path": PATH_OF_TYPE[item["equipment_type"]], "county_code": item.get("county_code") or ""})
        fields = {k: item[k] for k in ("equipment_type", "rated_capacity_kw", "seasonal_efficiency", "unit_price",
                                       "rating_points", "repair_contact") if item.get(k) is not None}
        for k in ("install_price", "min_operating_temp_c", "efficiency_grade", "warranty_years"):
            if item.get(k) is not None:
                fields[k] = item[k]
        _, was_created = CatalogModel.objects.update_or_create(lot=lot, vendor=item["vendor"],
                                                               model_name=item["model_name"], defaults=fields)
        created += was_created
        updated += not was_created
    record("catalog_import", user=user, target=filename[:120], detail=f"新增{created}个型号，更新{updated}个型号")
    return {"created": created, "updated": updated}


def catalog_version(model: CatalogModel) -> str:
    """The version of a catalog entry as stored (it has no version number: a digest of its row)."""
    return row_version(model)


def _locked_at(model: CatalogModel, expected_version) -> CatalogModel:
    """The entry, locked and as stored; refused if it is no longer the version the user saw."""
    model = CatalogModel.objects.select_for_update().get(pk=model.pk)
    if expected_version is not None and expected_version != catalog_version(model):
        raise StaleEdit("此型号已被他人修改，您的修改未保存。请核对后重新提交。", version=catalog_version(model))
    return model


@transaction.atomic
def update_catalog_model(model: CatalogModel, data: dict, *, user=None, expected_version=None) -> list[str]:
    """expected_version: catalog_version() of the entry the user saw (None: no check)."""
    model = _locked_at(model, expected_version)
    changed = []
    for name, value in data.items():
        if getattr(model, name) != value:
            changed.append(f"{CatalogModel._meta.get_field(name).verbose_name}：{getattr(model, name)} → {value}")
            setattr(model, name, value)
    if changed:
        if problems := model_problems(model):
            raise ValidationError(problem_errors(problems))
        model.full_clean()
        model.save()
        record("catalog_edit", user=user, target=str(model)[:120], detail="；".join(changed))
    return changed


# ---- county contracts

@transaction.atomic
def create_contract(data: dict, lines: list[dict], *, user=None) -> CountyContract:
    """data: county_code, contract_no, vendor, title, signed_on, delivery_until, status, note;
    lines: [{model, quantity, unit_price?, install_price?}]. The models must be tendered for the
    county and sold by the contract's vendor."""
    errors = {}
    if not re.fullmatch(r"\d{6}", data.get("county_code") or ""):
        errors["county_code"] = ["请选择县（市、区）"]
    texts = _contract_texts(data, errors)
    if texts.get("contract_no") == "":
        errors["contract_no"] = ["合同编号不能为空"]
    elif texts.get("contract_no") and CountyContract.objects.filter(contract_no=texts["contract_no"]).exists():
        errors["contract_no"] = [f"合同编号“{texts['contract_no']}”已存在"]
    status = data.get("status") or "signed"
    if status not in dict(CountyContract.STATUS):
        errors["status"] = [f"“{inputs.shown(status)}”不是有效的合同状态"]
    if not lines:
        errors["lines"] = ["合同至少要有一个型号"]
    values = []
    for i, line in enumerate(lines, start=1):
        model = line.get("model")
        if model is None:
            errors.setdefault("lines", []).append(f"第{i}项：请选择型号")
            continue
        problems = []
        values.append(_line_values(line, model, problems))
        if model.lot.county_code not in ("", data.get("county_code")):
            problems.append("不是本县可选用的中标型号")
        if texts.get("vendor") and model.vendor != texts["vendor"]:
            problems.append(f"属于“{model.vendor}”，不是本合同的供货企业")
        if problems:
            errors.setdefault("lines", []).extend(f"第{i}项（{model.model_name}）：{p}" for p in problems)
    if len({line.get("model") for line in lines}) != len(lines):
        errors.setdefault("lines", []).append("同一型号在合同中只能出现一次")
    if errors:
        raise ValidationError(errors)
    contract = CountyContract.objects.create(
        county_code=data["county_code"], contract_no=texts["contract_no"],
        vendor=texts["vendor"] or lines[0]["model"].vendor,
        title=texts["title"] or f"{texts['contract_no']}采购合同",
        signed_on=data.get("signed_on"), delivery_until=data.get("delivery_until"),
        status=status, note=texts["note"], created_by=user)
    for line in values:
        ContractLine.objects.create(contract=contract, **line)
    record("contract", user=user, region_code=contract.county_code, target=contract.contract_no,
           detail=f"录入采购合同，{len(values)}个型号，共{sum(x['quantity'] for x in values)}台")
    return contract


def _contract_texts(data, errors) -> dict:
    """The contract's texts as stored: one line each, no control characters, within the column."""
    texts = {}
    for name in CONTRACT_TEXTS:
        field = CountyContract._meta.get_field(name)
        try:
            texts[name] = inputs.text(data.get(name), str(field.verbose_name), max_length=field.max_length)
        except ValueError as exc:
            errors[name] = [str(exc)]
    return texts


def _line_values(line, model, problems) -> dict:
    """A contract line's quantity and prices as typed (a price left out is the tender's)."""
    values = {"model": model, "quantity": 0}
    try:
        values["quantity"] = inputs.integer(line.get("quantity"), "数量")
    except ValueError:
        pass
    if not 0 < values["quantity"] <= MAX_QUANTITY:
        problems.append(f"数量应为1到{MAX_QUANTITY}之间的整数")
    for name in ("unit_price", "install_price"):
        field = ContractLine._meta.get_field(name)
        values[name] = getattr(model, name)
        if line.get(name) is None:
            continue
        try:
            values[name] = inputs.decimal(line[name], str(field.verbose_name), places=field.decimal_places)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        limit = 10 ** (field.max_digits - field.decimal_places)
        if not 0 <= values[name] < limit:
            problems.append(f"{field.verbose_name}{values[name]}不合理，应在0到{limit}元之间")
    return values


@transaction.atomic
def set_contract_status(contract: CountyContract, status: str, *, user=None) -> None:
    if status not in dict(CountyContract.STATUS):
        raise ValidationError({"status": [f"“{status}”不是有效的合同状态"]})
    old = contract.get_status_display()
    contract.status = status
    contract.save(update_fields=["status"])
    record("contract", user=user, region_code=contract.county_code, target=contract.contract_no,
           detail=f"合同状态：{old} → {contract.get_status_display()}")


def line_counts(lines) -> dict[int, dict]:
    """{line id: {contracted, allocated, installed, left}} — installed = allocated households that
    the ledger shows at 已完工 or later (never typed in twice)."""
    installed_states = STATE_ORDER[INSTALLED:]
    active = Q(allocations__released_at__isnull=True)
    rows = (ContractLine.objects.filter(pk__in=[line.pk for line in lines])
            .annotate(allocated=Count("allocations", filter=active),
                      installed=Count("allocations", filter=active & Q(allocations__household__state__in=installed_states)))
            .values_list("pk", "quantity", "allocated", "installed"))
    return {pk: {"contracted": q, "allocated": a, "installed": i, "left": q - a} for pk, q, a, i in rows}


# ---- allocation

@transaction.atomic
def allocate(household: Household, line: ContractLine, *, user=None, channel=Channel.UI) -> Allocation:
    """Draw one unit of a contract line for a household. Refused beyond the contracted quantity."""
    line = ContractLine.objects.select_for_update().select_related("contract", "model", "model__lot").get(pk=line.pk)
    household = Household.objects.select_for_update().get(pk=household.pk)
    contract, model = line.contract, line.model
    if user is not None and not contract.county_code.startswith(_county_prefix(user)):
        raise ValidationError({"line": [LINE_NOT_FOUND]})
    if household.archived:
        raise ValidationError({"__all__": ["该户已归档，不能分配设备"]})
    if household.village_id[:6] != contract.county_code:
        raise ValidationError({"line": [f"合同“{contract.contract_no}”属于其他县，不能分配给本户"]})
    if contract.status != "signed":
        raise ValidationError({"line": [f"合同“{contract.contract_no}”状态为“{contract.get_status_display()}”，"
                                        f"只有已签订的合同可以分配"]})
    if model.path != household.heating_path:
        raise ValidationError({"line": [f"型号“{model.model_name}”属于{model.get_equipment_type_display()}，"
                                        f"与本户取暖路径“{household.get_heating_path_display()}”不符"]})
    current = household.allocations.filter(released_at__isnull=True).select_related("line__model").first()
    if current:
        raise ValidationError({"line": [f"本户已分配“{current.line.model}”，如需更换请先撤销原分配"]})
    used = line.allocations.filter(released_at__isnull=True).count()
    if used >= line.quantity:
        raise ValidationError({"line": [f"合同“{contract.contract_no}”中型号“{model.model_name}”的合同数量"
                                        f"{line.quantity}台已全部分配，不能超合同分配"]})
    allocation = Allocation.objects.create(household=household, line=line, user=user, channel=channel)
    history.equipment_allocated(household=household, user=user, channel=channel,
                                equipment=f"{model.vendor} {model.model_name}（合同{contract.contract_no}）")
    if model.equipment_type in ElectricDevice.values \
            and household.electric_device != model.equipment_type:
        ledger.update_household(household, {"electric_device": model.equipment_type}, user=user, channel=channel,
                                source=f"设备分配（合同{contract.contract_no}）")
    if household.state == LifecycleState.CONFIRMED:
        ledger.transition(household, LifecycleState.SELECTED, user=user, channel=channel,
                          reason=f"分配型号{model.model_name}")
    _refresh_advice(household)
    return allocation


def _refresh_advice(household):
    """Keep the stored sizing of this household (rollups) in step with its allocation."""
    try:
        batch.size_region(household.village_id, household_ids=[household.pk])
    except sizing.MissingData:
        pass


@transaction.atomic
def release(allocation: Allocation, *, reason: str, user=None, channel=Channel.UI) -> None:
    allocation = Allocation.objects.select_for_update().select_related("line__model", "line__contract") \
        .get(pk=allocation.pk)
    reason = " ".join((reason or "").split())
    if allocation.released_at:
        raise ValidationError({"__all__": ["该分配已撤销"]})
    if not reason:
        raise ValidationError({"reason": ["撤销分配必须填写原因"]})
    allocation.released_at = timezone.now()
    allocation.release_reason = reason[:200]
    allocation.save(update_fields=["released_at", "release_reason"])
    model = allocation.line.model
    history.equipment_released(household=allocation.household, user=user, channel=channel, reason=reason,
                               equipment=f"{model.vendor} {model.model_name}（合同{allocation.line.contract.contract_no}）")
    _refresh_advice(allocation.household)


@transaction.atomic
def follow_village_codes(villages: dict) -> None:
    """Villages re-coded by a region change (old code → new): the batch's advice rows move with their
    households, and the grid company's spare capacity goes to the new code unless it has its own."""
    for old, new in villages.items():
        Advice.objects.filter(village_code=old).update(village_code=new)
        if not GridCapacity.objects.filter(village_id=new).exists():
            GridCapacity.objects.filter(village_id=old).update(village_id=new)

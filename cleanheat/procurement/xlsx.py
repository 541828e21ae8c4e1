"""The tender results template (.xlsx): our column names, a drop-down for the equipment type, an
explanation sheet. The import also accepts the usual spellings of a tender's own results sheet."""
import io

import xlsxwriter
from django.http import HttpResponse

from .models import EquipmentType
from .services import CATALOG_COLUMNS, REQUIRED

EXAMPLE = {"tender_no": "XZ-2022-QNZB-01", "lot_code": "第1包", "lot_name": "低温空气源热泵（热水型）",
           "vendor": "示例热能科技有限公司", "equipment_type": "低温空气源热泵（热水型）", "model_name": "SL-KRS10",
           "rated_capacity_kw": 10, "cap_-12": 10, "cop_-12": 2.7, "cap_-20": 8.2, "cop_-20": 2.2,
           "seasonal_efficiency": 3.0, "min_operating_temp_c": -25, "efficiency_grade": 1, "unit_price": 18500,
           "install_price": 3000, "warranty_years": 5, "repair_contact": "0350-0000000", "year": 2022}


def write_template(target) -> None:
    book = xlsxwriter.Workbook(target, {"in_memory": True})
    sheet = book.add_worksheet("中标产品")
    head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})
    must = book.add_format({"bold": True, "bg_color": "#FCE4D6", "border": 1, "text_wrap": True})
    for col, (field, header, _) in enumerate(CATALOG_COLUMNS):
        sheet.write(0, col, header, must if field in REQUIRED else head)
        sheet.set_column(col, col, 14)
        if field in EXAMPLE:
            sheet.write(1, col, EXAMPLE[field])
    type_col = [f for f, _, _ in CATALOG_COLUMNS].index("equipment_type")
    sheet.data_validation(1, type_col, 5000, type_col, {
        "validate": "list", "source": [str(label) for _, label in EquipmentType.choices],
        "error_message": "请从下拉列表选择设备类型"})
    sheet.freeze_panes(1, 0)
    notes = book.add_worksheet("填写说明")
    lines = ["中标产品导入模板（清洁取暖设备统一招标结果）",
             "橙色列必填。每行一个中标型号；同一招标编号+标段+中标企业+型号再次导入时更新原记录。",
             "低温空气源热泵须填写−12℃、−20℃（超低温机型再填−25℃）工况的制热量和COP（GB/T 25127.2-2020）；"
             "锅炉、电暖器只填名义制热量与热效率。",
             "季节能效：热泵填制热季节性能系数（APF/HSPF），锅炉填热效率（如0.92），直热式电暖器填1。",
             "招标县区划代码：市统一招标留空；县自行招标的其他路径设备填6位县级区划代码。",
             "导入为“全部或全不”：任何一行有问题，整份文件都不写入，并逐条列出行号、列和原因。"]
    for i, line in enumerate(lines):
        notes.write(i, 0, line)
    notes.set_column(0, 0, 110)
    book.close()


def catalog_template_response():
    buffer = io.BytesIO()
    write_template(buffer)
    response = HttpResponse(buffer.getvalue(),
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = "attachment; filename*=UTF-8''%E4%B8%AD%E6%A0%87%E4%BA%A7%E5%93%81%E5%AF%BC%E5%85%A5%E6%A8%A1%E6%9D%BF.xlsx"
    return response

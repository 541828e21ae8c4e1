"""Answers to requests that cannot be served: a friendly Chinese page, or JSON with a Chinese
`detail` under /api/, never a traceback or a server path. Used by the request guard
(middleware), the API's error handlers and Django's handler400/404/500 (cleanheat/urls.py)."""
from django.http import HttpResponse, JsonResponse
from django.template import loader
from django.views import defaults

API_PREFIX = "/api/"

BAD_REQUEST = "请求有误，无法处理。请返回上一页，检查填写的内容后重试。"
NOT_FOUND = "未找到：您要找的页面或记录不存在，或不在您的管辖范围内。"
SERVER_ERROR = "服务器内部错误，已记录在服务器日志中。请稍后重试；如果问题持续，请联系系统管理员。"
TOO_LARGE = "提交的内容过大（表单和接口数据最多{body}MB，上传文件最多{upload}MB），未处理。"
TOO_MANY_FIELDS = "提交的字段或文件过多，未处理。"
MALFORMED = "提交的数据格式不正确（如上传时缺少分隔符 boundary），未处理。"
UNSTORABLE = "提交的内容含有无法保存的字符（空字符 NUL 或不成对的 Unicode 代理字符），请删除后重试。"
NOT_JSON = "请求内容不是有效的 JSON（注意：不能使用 NaN、Infinity）。"
# Ninja's own refusals are in English; what a caller reads instead, by status.
API_STATUS = {400: BAD_REQUEST, 401: "请先登录", 403: "您没有此项操作的权限（或页面已过期，请刷新后重试）",
              404: NOT_FOUND, 405: "不支持此请求方法", 429: "请求过于频繁，请稍后再试"}


class BadInput(ValueError):
    """Input no view should see (the API's parser raises it; the message is for the caller)."""


def is_api(request) -> bool:
    return request.path_info.startswith(API_PREFIX)


def respond(request, status: int, message: str) -> HttpResponse:
    """JSON for the API; otherwise a page that needs neither the database nor a logged-in user
    (rendered without context processors, so it works when everything else fails)."""
    if is_api(request):
        return JsonResponse({"detail": message}, status=status)
    template = "500.html" if status >= 500 else "400.html"
    return HttpResponse(loader.get_template(template).render({"message": message, "status": status}),
                        status=status)


def bad_request(request, exception=None):
    return respond(request, 400, BAD_REQUEST)


def page_not_found(request, exception=None):
    if is_api(request):
        return respond(request, 404, NOT_FOUND)
    return defaults.page_not_found(request, exception)  # 404.html, with the menu of the user's pages


def server_error(request):
    return respond(request, 500, SERVER_ERROR)


# What the API's schema checks (pydantic) found, in Chinese, by error type.
SCHEMA_PROBLEMS = {
    "missing": "必须填写", "int_parsing": "应为整数", "int_type": "应为整数", "int_from_float": "应为整数",
    "int_parsing_size": "数值过大", "float_parsing": "应为数字", "float_type": "应为数字",
    "decimal_parsing": "应为数字", "decimal_type": "应为数字", "finite_number": "应为有限的数字（不能是 NaN 或 Infinity）",
    "bool_parsing": "应为 true 或 false", "bool_type": "应为 true 或 false", "string_type": "应为文字",
    "string_too_long": "过长（最多{max_length}个字）", "string_too_short": "过短（至少{min_length}个字）",
    "date_parsing": "应为日期，如 2022-05-01", "date_from_datetime_parsing": "应为日期，如 2022-05-01",
    "date_from_datetime_inexact": "应为日期，如 2022-05-01", "date_type": "应为日期，如 2022-05-01",
    "datetime_parsing": "应为日期时间，如 2022-05-01T08:00:00", "datetime_type": "应为日期时间，如 2022-05-01T08:00:00",
    "greater_than_equal": "应不小于{ge}", "greater_than": "应大于{gt}", "less_than_equal": "应不大于{le}",
    "less_than": "应小于{lt}", "list_type": "应为列表", "dict_type": "应为对象", "model_type": "应为对象",
    "model_attributes_type": "应为对象", "json_invalid": "不是有效的 JSON", "uuid_parsing": "应为有效的编号",
    "uuid_type": "应为有效的编号", "enum": "不是可选的值", "literal_error": "不是可选的值",
}
# The member a union's error names after the field ("heated_area", "float"): not a field of its own.
_UNION_MEMBERS = {"str", "int", "float", "bool", "date", "datetime", "decimal", "list", "dict", "none"}


def schema_errors(problems: list[dict]) -> dict[str, list[str]]:
    """{field: [Chinese message]} from pydantic's error list, as the services' refusals read."""
    found = {}
    for problem in problems:
        source, *where = [str(part) for part in problem.get("loc", ("body",))]
        if source == "body" and len(where) > 1:
            where = where[1:]  # the operation's parameter name ("payload") means nothing to a caller
        if len(where) > 1 and where[-1] in _UNION_MEMBERS:
            where = where[:-1]
        message = _schema_message(problem)
        messages = found.setdefault(".".join(where) or source, [])
        if message not in messages:
            messages.append(message)
    return found


def _schema_message(problem: dict) -> str:
    """Our own validators already speak Chinese; pydantic's English gets a Chinese message."""
    if not problem.get("msg", "").isascii():
        return problem["msg"]
    try:
        return SCHEMA_PROBLEMS.get(problem.get("type"), "格式不正确").format(**problem.get("ctx") or {})
    except (KeyError, IndexError):
        return "格式不正确"

"""The API's refusals, as its OpenAPI schema documents them, and the pages of its lists: every error answer is JSON with a
Chinese `detail` (and, for refused input, `errors` by field), so a client generated from the schema
can read each one.

The refusals every operation can give are added to the schema here rather than repeated on each
route: 400 (a NUL or lone surrogate anywhere in the request, unreadable JSON), 401 (no session or a
bad token), 403 (the role lacks the permission, or a session's write lacks its CSRF token), 429 (a
token over its rate limit); 422 where the operation takes input; 413 where it takes a body; 404
where its path names a record or its list has pages. Refusals of one route only (a 404 for a record
its body or query names, 409, 412) are declared on that route with these schemas. tests/test_api_fuzz.py checks every answer against the schema."""
from ninja import NinjaAPI, Schema
from ninja.errors import HttpError
from ninja.pagination import PageNumberPagination

from cleanheat import inputs

# Status → what it means, as the schema's description says it.
EVERY_OPERATION = {400: "请求有误：网址或内容含有无法保存的字符（NUL 等），或内容不是有效的 JSON",
                   401: "未登录，或 API 令牌无效（格式不正确、不存在、已过期、已吊销）",
                   403: "没有此项操作的权限（或浏览器会话的写操作缺少 CSRF 令牌）",
                   429: "API 令牌超过每分钟的调用上限（见 Retry-After）"}
WITH_INPUT = {422: "提交的数据不正确：errors 按字段列出每个问题"}
WITH_BODY = {413: "提交的内容过大"}
NAMING_A_RECORD = {404: "未找到，或不在您的管辖范围内"}
PAGINATED = {404: "页码超出范围"}
WRITES = {"post", "put", "patch", "delete"}


class ErrorOut(Schema):
    detail: str
    errors: dict[str, list[str]] | None = None   # refused input: messages by field


class StaleOut(Schema):
    """412: the If-Match version was replaced; nothing was written."""
    detail: str
    version: int | str
    changes: list[dict]
    current: dict | None = None


class Pages(PageNumberPagination):
    """Every paginated list's pages: one past the last answers 404 however large its number (the
    offset of a 30-digit page would overflow the database's integer: a 500 found by the fuzz test)."""

    def paginate_queryset(self, queryset, pagination, request, **params):
        size = self._get_page_size(pagination.page_size)
        count = self._items_count(queryset)
        offset = (pagination.page - 1) * size
        if offset and offset >= count:
            raise HttpError(404, f"第{inputs.shown(pagination.page)}页不存在：共{-(-count // size)}页")
        return {self.items_attribute: queryset[offset:offset + size], "count": count}


def _refusals(method: str, operation: dict) -> dict[int, str]:
    params = {p.get("in") for p in operation.get("parameters", [])}
    body = "requestBody" in operation or method in WRITES   # some read a multipart form themselves
    found = dict(EVERY_OPERATION)
    if params or body:
        found.update(WITH_INPUT)
    if body:
        found.update(WITH_BODY)
    if "path" in params:
        found.update(NAMING_A_RECORD)
    elif any(p.get("name") == "page" for p in operation.get("parameters", [])):
        found.update(PAGINATED)
    return found


class DocumentedAPI(NinjaAPI):
    """NinjaAPI whose schema lists, on every operation, the refusals it can give (see above)."""

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.setdefault("ErrorOut", ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}"))
        reference = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}}
        for operations in schema["paths"].values():
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                for status, meaning in _refusals(method, operation).items():
                    responses.setdefault(status, {"description": meaning, **reference})
                operation["responses"] = dict(sorted(responses.items(), key=lambda item: int(item[0])))
        return schema

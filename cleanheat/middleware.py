from django.conf import settings
from django.contrib.auth.middleware import LoginRequiredMiddleware as BaseLoginRequiredMiddleware
from django.core.exceptions import BadRequest, PermissionDenied, RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import JsonResponse, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import redirect
from django.urls import Resolver404, resolve
from django.utils import translation
from django.utils.cache import add_never_cache_headers
from django.utils.deprecation import MiddlewareMixin

from cleanheat import errors

BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
MEGABYTE = 1024 * 1024


class RequestGuardMiddleware:
    """What no view should see, refused before any of them: a body too large (413), one that
    cannot be parsed, such as multipart without its boundary (400), and NUL characters in the
    path, the query or a form (400: PostgreSQL cannot even compare them). The body is read
    here, once; the API's parser checks the text inside JSON bodies."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        refusal = _refusal(request)
        if refusal is not None:
            return errors.respond(request, *refusal)
        return self.get_response(request)


def _too_large():
    return 413, errors.TOO_LARGE.format(body=round(settings.DATA_UPLOAD_MAX_MEMORY_SIZE / MEGABYTE, 1),
                                         upload=settings.CLEANHEAT_MAX_UPLOAD_BYTES // MEGABYTE)


def _refusal(request):
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    # uploaded files are not held in memory and Django sets them no limit: the upload limit here
    if request.content_type == "multipart/form-data" and not errors.is_api(request) \
            and length > settings.CLEANHEAT_MAX_UPLOAD_BYTES + settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        return _too_large()
    if "\x00" in request.path_info or _has_nul(request.GET) or any("\x00" in v for v in request.COOKIES.values()):
        return 400, errors.UNSTORABLE
    if request.method not in BODY_METHODS:
        return None
    try:
        if errors.is_api(request):
            request.body  # noqa: B018 (read within DATA_UPLOAD_MAX_MEMORY_SIZE, for the API's parser)
        form = request.POST
        files = request.FILES
    except RequestDataTooBig:
        return _too_large()
    except (TooManyFieldsSent, TooManyFilesSent):
        return 400, errors.TOO_MANY_FIELDS
    except (MultiPartParserError, BadRequest, UnreadablePostError):
        return 400, errors.MALFORMED
    if _has_nul(form) or any("\x00" in f.name for f in files.values()):
        return 400, errors.UNSTORABLE
    return None


def _has_nul(data) -> bool:
    return any("\x00" in key or any("\x00" in v for v in values) for key, values in data.lists())


class ChosenLanguageMiddleware(MiddlewareMixin):
    """zh-hans unless the user picked another language (cookie set by set_language).

    Django's LocaleMiddleware would follow the browser's Accept-Language, which on many
    office machines is English although their users read Chinese."""

    def process_request(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        supported = dict(settings.LANGUAGES)
        translation.activate(chosen if chosen in supported else settings.LANGUAGE_CODE)
        request.LANGUAGE_CODE = translation.get_language()

    def process_response(self, request, response):
        response.headers.setdefault("Content-Language", translation.get_language())
        return response


class LoginRequiredMiddleware(BaseLoginRequiredMiddleware):
    """Pages need a login (redirect to the login page); the JSON API answers 401 itself."""

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path_info.startswith("/api/") and not request.path_info.startswith("/api/docs"):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


class NoStoreMiddleware:
    """Nothing a signed-in user receives from our views is kept by the browser or a proxy.

    Pages, htmx fragments, API answers and downloads can all hold personal data; static files
    never reach this middleware (WhiteNoise answers them earlier) and stay cacheable."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.user.is_authenticated:
            add_never_cache_headers(response)
        return response


class AccessMiddleware:
    """Fail closed: a page view that declares no permission (@requires) is refused.

    Django's admin has its own checks (superusers only here); the JSON API checks each operation
    with the same @requires decorator; login_not_required views (login, language) are public."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not getattr(view_func, "login_required", True) or request.path_info.startswith(("/api/", "/admin/")):
            return None
        if not hasattr(view_func, "required_permission"):
            raise PermissionDenied("此页面未声明访问权限")
        return None


class PasswordChangeRequiredMiddleware:
    """After an administrator sets a password, the user must choose their own first."""

    ALLOWED = ("password_change", "password_change_done", "logout", "set_language", "favicon")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and getattr(user, "must_change_password", False):
            match = request.resolver_match or _resolve(request.path_info)
            if match is None or match.url_name not in self.ALLOWED:
                if request.path_info.startswith("/api/"):
                    return JsonResponse({"detail": "请先修改初始密码"}, status=403)
                return redirect("password_change")
        return self.get_response(request)


def _resolve(path):
    try:
        return resolve(path)
    except Resolver404:
        return None

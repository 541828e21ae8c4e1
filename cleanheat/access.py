"""The one access layer: who may do what (role permissions) and where (region scope).

Views declare their permission with @requires; AccessMiddleware refuses any page view that
declares none (fail closed). API operations use the same decorator. Objects are always fetched
through scoped querysets, so an object outside the scope answers 404 and its existence is not
revealed.
"""
from functools import reduce, wraps
from operator import or_

from django.core.exceptions import PermissionDenied
from django.urls import reverse

from cleanheat.accounts.navigation import items_for
from cleanheat.accounts.roles import ALL, permissions_of
from cleanheat.regions.scope import NOTHING, code_q, in_scope, require_in_scope, user_prefix

__all__ = ["has_perm", "require_perm", "requires", "scope_filter", "in_scope", "require_in_scope",
           "user_prefix", "NOTHING"]


def has_perm(user, perm: str) -> bool:
    if not user or not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or perm in permissions_of(user.role)


def require_perm(user, perm: str) -> None:
    if not has_perm(user, perm):
        raise PermissionDenied("您没有此项操作的权限")


def requires(perm: str):
    """Declare and check the permission a view or API operation needs."""
    def decorate(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            require_perm(request.user, perm)
            return view(request, *args, **kwargs)
        wrapped.required_permission = perm
        return wrapped
    return decorate


def scope_filter(queryset, user, *fields: str):
    """Rows of `queryset` with a 12-digit code in the user's scope, in any of `fields` (a row about
    two areas, such as a duplicate across counties, belongs to both)."""
    prefix = user_prefix(user)
    if prefix == NOTHING:
        return queryset.none()
    return queryset.filter(reduce(or_, (code_q(f, prefix) for f in fields))) if prefix else queryset


def any_user(view):
    """Declare a page every logged-in user may open (home, logout, own password)."""
    view.required_permission = None
    return view


def context(request):
    """Templates ask `can.edit`, `can.reveal_id` …: the same permissions the views enforce; and `nav`,
    the user's menu (the role table in accounts/navigation.py)."""
    user = getattr(request, "user", None)
    return {"can": {perm.split(".")[-1]: has_perm(user, perm) for perm in ALL},
            "nav": [{"href": item.target if item.target.startswith("/") else reverse(item.target),
                     "label": item.label, "key": item.key} for item in items_for(user)]}

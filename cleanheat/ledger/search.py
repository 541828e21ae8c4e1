"""Searching the household list by ID number or phone without putting the number in a URL.

A search term that holds a personal identifier is kept, encrypted, in the user's session under a
short random token; the list's URLs (pagination, filters, export link) carry `?s=<token>` instead.
A token works only in the session that made it and only for settings.SEARCH_TOKEN_SECONDS.
Names and household numbers stay in the URL as `?q=`, so such lists can be bookmarked.
"""
import secrets
import time
from urllib.parse import urlencode

from django.conf import settings

from cleanheat import pii

from . import identity

SESSION_KEY = "ledger_search_tokens"
MAX_TOKENS = 20  # the newest searches of a session; older tokens lapse
EXPIRED = "该查询已过期，请重新输入身份证号或手机号"


class SearchExpired(ValueError):
    pass


def _tokens(request) -> dict:
    now = time.time()
    return {t: entry for t, entry in request.session.get(SESSION_KEY, {}).items() if entry[1] > now}


def token_for(request, term: str) -> str:
    tokens = _tokens(request)
    token = secrets.token_urlsafe(9)
    tokens[token] = [pii.encrypt(term), time.time() + settings.SEARCH_TOKEN_SECONDS]
    request.session[SESSION_KEY] = dict(sorted(tokens.items(), key=lambda item: item[1][1])[-MAX_TOKENS:])
    return token


def term_for(request, token: str) -> str:
    entry = _tokens(request).get(token)
    if entry is None:
        raise SearchExpired(EXPIRED)
    return pii.decrypt(entry[0])


def filters(request, data, names) -> dict:
    """The filter values in `data` (a QueryDict), with `q` read back from the token `s` if given.
    Raises SearchExpired for a token this session does not hold (any more)."""
    values = {name: data.get(name, "").strip() for name in names}
    if data.get("s") and not values.get("q"):
        values["q"] = term_for(request, data["s"])
    return values


def shown_term(term: str) -> str:
    """What the search box shows: a personal identifier masked, anything else as typed."""
    return identity.mask_identifiers(term)


def list_query(request, data, names) -> str:
    """The query string for `data` (the search form, or an old link with ?q=): a personal term
    becomes a token, an unchanged masked term keeps its token, everything else stays as is."""
    params = {name: data.get(name, "").strip() for name in names}
    term, token = params.pop("q", ""), data.get("s", "")
    shown = _shown_for_token(request, token) if token else None
    if token and term and (term == shown or (shown is None and "*" in term)):
        params["s"] = token  # the box left as it was shown (an expired token is reported on the page)
    elif identity.looks_like_identifier(term):
        params["s"] = token_for(request, term)
    else:
        params["q"] = term
    if data.get("archived") == "1":
        params["archived"] = "1"
    if data.get("page"):
        params["page"] = data["page"]
    return urlencode({k: v for k, v in params.items() if v})


def _shown_for_token(request, token: str) -> str | None:
    try:
        return shown_term(term_for(request, token))
    except SearchExpired:
        return None

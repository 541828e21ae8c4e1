"""Offline-complete pages (issue 15, part 2): nothing a page loads comes from another host.

The walk follows every link a signed-in user sees, page type by page type, as three roles, and
reads what each page would load (scripts, stylesheets, images, frames) and what our stylesheets
load in turn."""
import re
from collections import Counter, deque
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from django.urls import Resolver404, resolve

from cleanheat.ledger.models import Household

from .conftest import make_user

pytestmark = pytest.mark.django_db

HOST = "testserver"
# tag → attributes whose URL the browser fetches by itself
LOADED = {"script": ("src",), "link": ("href",), "img": ("src", "srcset"), "iframe": ("src",),
          "source": ("src", "srcset"), "embed": ("src",), "object": ("data",), "video": ("src", "poster"),
          "audio": ("src",), "input": ("src",)}
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)|@import\s+['"]([^'"]+)""")
# Pages that download a file or start a job rather than show a page.
NOT_PAGES = ("export", "download", "template", "logout", "advice_print")
PER_PAGE_TYPE = 2
MAX_PAGES = 90


class References(HTMLParser):
    def __init__(self):
        super().__init__()
        self.loaded, self.links = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in LOADED.get(tag, ()):
            for value in (attrs.get(name) or "").split(","):
                if value.strip():
                    self.loaded.append((tag, value.strip().split()[0]))
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])


def references(html: str) -> References:
    parser = References()
    parser.feed(html)
    return parser


def external(url: str) -> bool:
    parts = urlsplit(url)
    remote = parts.scheme in ("http", "https") or url.startswith("//")
    return remote and parts.hostname != HOST


def page_type(path: str) -> str | None:
    try:
        return resolve(path).url_name or path
    except Resolver404:
        return None


def walk(client, start="/"):
    """Every page type reachable by links from `start` (a few pages of each): {url: html}."""
    seen, pages, queue, per_type = set(), {}, deque([start]), Counter()
    while queue and len(pages) < MAX_PAGES:
        url = queue.popleft()
        path = urlsplit(url).path
        kind = page_type(path)
        if url in seen or kind is None or any(word in kind for word in NOT_PAGES) \
                or path.startswith("/admin/") or per_type[kind] >= PER_PAGE_TYPE:
            continue
        seen.add(url)
        response = client.get(url, follow=True)
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        per_type[kind] += 1
        html = response.content.decode()
        pages[url] = html
        for href in references(html).links:
            target = urljoin(url, href)
            parts = urlsplit(target)
            if not external(target) and parts.scheme in ("", "http", "https") and not href.startswith("#"):
                queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return pages


def test_the_scanner_sees_what_it_must_refuse():
    found = references('<script src="https://cdn.example.com/a.js"></script><link rel="stylesheet" '
                       'href="//fonts.example.com/x.css"><img srcset="/static/a.png 1x, http://img.example.com/b.png 2x">'
                       '<iframe src="https://maps.example.com/"></iframe><a href="https://example.com/">x</a>')
    assert [tag for tag, url in found.loaded if external(url)] == ["script", "link", "img", "iframe"]
    assert not external("/static/css/app.css") and not external("http://testserver/static/x.js")
    assert not external("data:image/png;base64,AAAA")


@pytest.mark.parametrize("role, scope", [("city_admin", "1409"), ("county_clerk", "140902"),
                                         ("village_clerk", None)])
def test_no_page_loads_anything_from_another_host(client, role, scope):
    if scope is None:  # a village with households
        scope = Household.objects.filter(archived=False, village__code__startswith="140902") \
            .order_by("household_no").values_list("village_id", flat=True).first()
    client.force_login(make_user(f"offline_{role}", scope, role=role))
    pages = walk(client)
    pages.update({url: client.get(url).content.decode() for url in ("/api/docs",)})
    kinds = Counter(page_type(urlsplit(url).path) for url in pages)
    assert {"region", "households", "household"} <= set(kinds), kinds
    assert len(kinds) >= 10, kinds
    print(role, sorted(kinds.items()))
    loaded = {(url, tag, ref) for url, html in pages.items() for tag, ref in references(html).loaded}
    assert any(tag == "script" for _, tag, _ in loaded) and any(tag == "link" for _, tag, _ in loaded)
    assert sorted(item for item in loaded if external(item[2])) == []

    stylesheets = {ref for _, tag, ref in loaded if tag == "link" and ref.endswith(".css")}
    assert stylesheets
    for sheet in stylesheets:
        response = client.get(sheet)
        assert response.status_code == 200, sheet
        css = b"".join(response.streaming_content).decode()
        assert [u for pair in CSS_URL.findall(css) for u in pair if u and external(u)] == [], sheet


def test_the_login_and_error_pages_load_nothing_from_another_host(client):
    for url, status in (("/accounts/login/", 200), ("/no-such-page/", 404)):
        response = client.get(url)
        assert response.status_code in (status, 302), url
        loaded = references(client.get(url, follow=True).content.decode()).loaded
        assert loaded and [ref for _, ref in loaded if external(ref)] == []

"""The help pages: Markdown files in Chinese (helpdocs/pages/*.md), listed with the pages they
explain in pages/pages.json, rendered to HTML with markdown-it-py (CommonMark, raw HTML escaped,
unsafe link schemes refused by the library's link validation)."""
import json
from functools import cache
from pathlib import Path

from markdown_it import MarkdownIt

PAGES_DIR = Path(__file__).parent / "pages"
INDEX = "index"


@cache
def catalogue() -> dict:
    """slug → URL names whose "?" opens it, in the manual's order."""
    data = json.loads((PAGES_DIR / "pages.json").read_text(encoding="utf-8"))
    return {slug: entry["pages"] for slug, entry in data.items() if not slug.startswith("_")}


@cache
def slug_for_page() -> dict:
    return {name: slug for slug, names in catalogue().items() for name in names}


def source(slug: str) -> str | None:
    if slug not in catalogue():
        return None
    return (PAGES_DIR / f"{slug}.md").read_text(encoding="utf-8")


def title(slug: str) -> str:
    first = (source(slug) or "").splitlines()[:1]
    return first[0].lstrip("# ").strip() if first else slug


def render(slug: str) -> str | None:
    """The page as HTML: Markdown written as data, any HTML in it shown as text."""
    text = source(slug)
    return None if text is None else to_html(text)


def to_html(text: str) -> str:
    return MarkdownIt("commonmark", {"html": False}).enable("table").render(text)

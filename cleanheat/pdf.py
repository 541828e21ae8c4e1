"""The project's PDF renderer: a Django template and its context to PDF bytes, with WeasyPrint
(HTML and CSS to PDF, https://doc.courtbouillon.org/weasyprint/). Chinese text needs a CJK font on
the machine: Debian's fonts-noto-cjk (dev.py and .ci/run install it); a template's CSS names it
("Noto Sans CJK SC"). The pages' CSP forbids inline styles, so a template links its static CSS
for the browser (unless `for_pdf`), and render_pdf hands the same static files to WeasyPrint.

Rendering reads no URL from the network: a template's images and styles must be inline or under
STATIC_ROOT/the app's static files (the url fetcher refuses anything else)."""
from pathlib import Path

from django.contrib.staticfiles import finders
from django.template.loader import render_to_string


def _no_network(url, *args, **kwargs):
    raise ValueError(f"PDF rendering fetches no URL ({url[:80]})")


def static_text(path: str) -> str:
    """The text of a static file (a print stylesheet)."""
    found = finders.find(path)
    if not found:
        raise FileNotFoundError(f"static file {path} not found")
    return Path(found).read_text(encoding="utf-8")


def render_pdf(template_name: str, context: dict, request=None, stylesheets=()) -> bytes:
    """The template rendered with the context (and `for_pdf`; the request, for its context
    processors) as a PDF document, styled by the static `stylesheets` (paths such as
    "css/notice_print.css")."""
    import weasyprint  # deferred: a heavy import that few requests need
    html = render_to_string(template_name, {**context, "for_pdf": True}, request=request)
    styles = [weasyprint.CSS(string=static_text(path)) for path in stylesheets]
    return weasyprint.HTML(string=html, url_fetcher=_no_network).write_pdf(stylesheets=styles)

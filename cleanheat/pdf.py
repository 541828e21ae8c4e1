"""The project's PDF renderer: a Django template and its context to PDF bytes, with WeasyPrint
(HTML and CSS to PDF, https://doc.courtbouillon.org/weasyprint/). Chinese text needs a CJK font on
the machine: Debian's fonts-noto-cjk (dev.py and .ci/run install it); a template's CSS names it
("Noto Sans CJK SC"). The pages' CSP forbids inline styles, so a template links its static CSS
for the browser (unless `for_pdf`), and render_pdf hands the same static files to WeasyPrint.

Rendering reads no URL from the network: a template's images and styles must be inline or under
STATIC_ROOT/the app's static files (the url fetcher refuses anything else).

A long document of independent pages (a village's 告知书, one page per household) is laid out in
parts on every core: WeasyPrint's layout is pure Python, so threads would not help; forked worker
processes each turn one part's HTML into PDF and pypdf joins the parts in order."""
import io
import multiprocessing
import os
import warnings
from pathlib import Path

from django.contrib.staticfiles import finders
from django.template.loader import render_to_string

SPLIT_FROM = 120  # rows: below this a document is laid out in one piece (a fork costs more than it saves)


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


def _html_to_pdf(html: str, css: list[str]) -> bytes:
    import weasyprint  # already imported by the parent before the fork: free here
    return weasyprint.HTML(string=html, url_fetcher=_no_network).write_pdf(
        stylesheets=[weasyprint.CSS(string=text) for text in css])


def render_pdf_split(template_name: str, context: dict, *, split: str, request=None, stylesheets=(),
                     parts: int | None = None) -> bytes:
    """render_pdf for a template that repeats whole pages over `context[split]`: the rows are cut
    into `parts` runs (default: one per core), each rendered through the template on its own and
    laid out in a forked process; the parts' pages are joined in row order."""
    rows = context[split]
    parts = parts or min(os.cpu_count() or 1, 4)
    if parts < 2 or len(rows) < SPLIT_FROM:
        return render_pdf(template_name, context, request=request, stylesheets=stylesheets)
    import weasyprint  # noqa: F401  imported before the fork so every worker shares it
    from pypdf import PdfReader, PdfWriter
    size = -(-len(rows) // parts)
    htmls = [render_to_string(template_name, {**context, split: rows[i:i + size], "for_pdf": True}, request=request)
             for i in range(0, len(rows), size)]
    css = [static_text(path) for path in stylesheets]
    with warnings.catch_warnings():
        # The workers run WeasyPrint alone on strings they were handed (no database, no threads of
        # the parent), which is what fork() in a threaded server is safe for.
        warnings.filterwarnings("ignore", message=".*fork.*", category=DeprecationWarning)
        with multiprocessing.get_context("fork").Pool(len(htmls)) as pool:
            pdfs = pool.starmap(_html_to_pdf, [(html, css) for html in htmls])
    writer = PdfWriter()
    for pdf in pdfs:
        writer.append(io.BytesIO(pdf))
    writer.add_metadata(PdfReader(io.BytesIO(pdfs[0])).metadata or {})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()

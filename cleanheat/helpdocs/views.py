"""Help: the manual's index, each page's help, and the "?" link of the page being shown."""
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse

from cleanheat.access import any_user

from . import pages


@any_user
def help_page(request, slug=pages.INDEX):
    html = pages.render(slug)
    if html is None:
        raise Http404("未找到该帮助页")
    return render(request, "helpdocs/page.html", {
        "slug": slug, "html": html, "title": pages.title(slug),
        "contents": [(s, pages.title(s)) for s in pages.catalogue() if s != pages.INDEX]})


def context(request):
    """`help_url`: the help of the page being shown (the header's "?"), if it has one."""
    match = getattr(request, "resolver_match", None)
    slug = pages.slug_for_page().get(match.url_name) if match else None
    return {"help_url": reverse("help_page", args=[slug]) if slug else ""}

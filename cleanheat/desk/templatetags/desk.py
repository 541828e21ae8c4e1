"""{% desk_panel region %} on the landing page (the user's own area), {% unread_notices %} in the menu."""
from django import template

from cleanheat.access import NOTHING, user_prefix
from cleanheat.regions import codes

from .. import queries, todos

register = template.Library()


@register.inclusion_tag("desk/_panel.html", takes_context=True)
def desk_panel(context, region):
    user = context["request"].user
    prefix = user_prefix(user)
    own = prefix != NOTHING and (region.code == codes.full_code(prefix) if prefix else region.level == codes.CITY)
    return {"show": own, "todos": todos.for_user(user) if own else []}


@register.simple_tag(takes_context=True)
def unread_notices(context) -> int:
    user = context["request"].user
    return queries.unread_notices(user).count() if user.is_authenticated else 0

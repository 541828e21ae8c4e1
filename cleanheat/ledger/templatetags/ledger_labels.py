"""Labels of the ledger's choices for long tables: {{ h.state|state_label }} reads a dict made once
per language, where get_state_display() translates every choice again for every row."""
from functools import lru_cache

from django import template
from django.utils.translation import get_language

from cleanheat.ledger.choices import HeatingPath, LifecycleState

register = template.Library()


@lru_cache(maxsize=16)
def _labels(enum, language: str) -> dict:
    return {value: str(label) for value, label in enum.choices}


@register.filter
def heating_path_label(value):
    return _labels(HeatingPath, get_language()).get(value, value)


@register.filter
def state_label(value):
    return _labels(LifecycleState, get_language()).get(value, value)

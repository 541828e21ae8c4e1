"""Optimistic concurrency: a save names the version of the row its user saw, and is refused if
someone else has written the row since, so that nobody silently reverts another person's change.

Households carry a version number; rows without one (catalog models, accounts, monthly
schedules, the registers of the system administration) use a digest of their stored values. The same token travels as a
hidden form field and as the API's ETag / If-Match.
"""
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from ninja.errors import HttpError

DIGEST_LENGTH = 16  # hex characters: a token, not a security measure


@dataclass(frozen=True)
class Change:
    """One change someone else made after the user's version, as a person reads it."""
    label: str
    old: str
    new: str
    user: str = ""
    at: datetime | None = None

    def as_json(self) -> dict:
        return {"field": self.label, "old": self.old, "new": self.new, "user": self.user,
                "at": self.at.isoformat() if self.at else None}


class StaleEdit(ValidationError):
    """A save based on a version that is no longer the current one: nothing was written.
    `current`: the record as it is now, for an API answer where `changes` cannot be told."""

    def __init__(self, message: str, *, version, changes=(), current=None):
        super().__init__({"__all__": [message]})
        self.version = version
        self.changes = list(changes)
        self.current = current


def digest(values) -> str:
    """A version for a row without a version number: changes whenever one of `values` does."""
    text = json.dumps(values, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:DIGEST_LENGTH]


def row_version(obj) -> str:
    """digest() of a stored row: all its columns and the keys of its many-to-many links."""
    values = [getattr(obj, f.attname) for f in obj._meta.concrete_fields]
    values += [sorted(getattr(obj, f.name).values_list("pk", flat=True)) for f in obj._meta.many_to_many]
    return digest(values)


def etag(version) -> str:
    return f'"{version}"'


def if_match(header: str | None) -> str | None:
    """The one version an If-Match header names; None without the header or with `*` (any)."""
    if not header or header.strip() == "*":
        return None
    tags = [t.strip().removeprefix("W/").strip('"') for t in header.split(",")]
    if len(tags) != 1 or not tags[0]:
        raise ValueError("If-Match 应为上次读取时响应中的一个 ETag（版本号）")
    return tags[0]


def expected_version(request) -> str | None:
    """The version an API request's If-Match names. A PATCH without one is applied to the fields
    it names as they are now (no check), as before; clients that read first should send it."""
    try:
        return if_match(request.headers.get("If-Match"))
    except ValueError as exc:
        raise HttpError(400, str(exc)) from None


# ---- edit forms: every field carries a hidden copy of the value the page showed

def keep_shown_values(form, *, skip=("version",)) -> None:
    """Make `form` carry the values its page showed, so that `changed_data` is what this user
    changed even if others saved meanwhile (and survives a re-render after an error)."""
    for name, field in form.fields.items():
        field.show_hidden_initial = name not in skip


def changes_seen(form, current) -> list[Change]:
    """Fields whose stored value (`current`: an unbound form of the row as it is now) is no
    longer the one `form`'s page showed."""
    out = []
    for name, field in form.fields.items():
        if not field.show_hidden_initial:
            continue
        seen = form.data.get(form.add_initial_prefix(name))
        now = current[name].initial
        if field.has_changed(now, seen):
            try:
                seen = field.to_python(seen)
            except ValidationError:
                pass
            out.append(Change(str(field.label), _shown(field, seen), _shown(field, now)))
    return out


def _shown(field, value) -> str:
    if isinstance(field, forms.BooleanField):
        return "是" if value else "否"
    text = "" if value is None else str(field.prepare_value(value))
    if isinstance(field, forms.ChoiceField):
        return str({str(k): label for k, label in field.choices}.get(text, text))
    return text


def rebased_data(form, current, version):
    """The data of `form`, whose save was refused as stale, moved onto `current` (an unbound
    form of the row as it is now): what this user changed stays as they typed it, the rest and
    the hidden copies become the stored values. The page then shows the row as it is, and
    saving it again applies just this user's changes."""
    data = form.data.copy()
    changed = form.changed_data
    for name, field in form.fields.items():
        if not field.show_hidden_initial:
            continue
        value = current[name].value()
        text = "" if value is None else str(value)
        data[form.add_initial_prefix(name)] = text
        if name in changed or field.disabled:
            continue
        if isinstance(field, forms.BooleanField):
            if value:
                data[name] = "on"
            else:
                data.pop(name, None)  # an unticked box is not posted
        else:
            data[name] = text
    data["version"] = str(version)
    return data


# ---- the registers kept in the system administration (Django admin)

class StaleCheckForm(forms.ModelForm):
    """An admin change form that refuses to save over a record someone else has saved since
    the page was opened. The admin saves in the transaction that runs clean(), so the row
    stays locked from the check to the write."""
    version = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["version"].initial = row_version(self.instance)

    def clean(self):
        cleaned = super().clean()
        seen = cleaned.get("version")
        if self.instance.pk is not None and seen:
            stored = type(self.instance)._default_manager.select_for_update().get(pk=self.instance.pk)
            if row_version(stored) != seen:
                raise ValidationError("此记录已被他人修改，您的修改未保存。请重新打开此页，核对后再修改。")
        return cleaned


class StaleCheckAdmin(admin.ModelAdmin):
    form = StaleCheckForm

"""The generation token: read by every cached figure, replaced after every change to its sources."""
import logging
from uuid import uuid4

from django.db import DatabaseError

from .models import Generation

ROW = 1
MISSING_TABLE = ("no such table", "does not exist")
log = logging.getLogger(__name__)


def current(using: str = "default") -> str:
    """The token now (created on first use)."""
    rows = Generation.objects.using(using).filter(pk=ROW)
    token = rows.values_list("token", flat=True).first()
    if token is None:
        Generation.objects.using(using).bulk_create([Generation(pk=ROW, token=uuid4().hex)],
                                                    ignore_conflicts=True)
        token = rows.values_list("token", flat=True).first()
    return token


def bump(using: str = "default") -> None:
    """A new token: every figure cached so far is no longer found."""
    token = uuid4().hex
    if not Generation.objects.using(using).filter(pk=ROW).update(token=token):
        Generation.objects.using(using).bulk_create([Generation(pk=ROW, token=token)], ignore_conflicts=True)


def bump_quietly(using: str = "default") -> None:
    """bump(), logging rather than raising a failure (a lock wait that timed out; before this app's
    table exists, during migrations, silently): the write that called it has succeeded and must not
    be reported as failed. No savepoint: SQLite refuses one while the write's statement is still
    being read (INSERT … RETURNING), and a failed statement leaves its transaction usable."""
    try:
        bump(using)
    except DatabaseError as error:
        if not any(words in str(error) for words in MISSING_TABLE):
            log.warning("figures generation not bumped: %s", error)

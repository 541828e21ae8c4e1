from django.db import models


class Generation(models.Model):
    """One row: a random token replaced on every committed change to the data figures derive from.
    Random rather than a counter, so a value is never seen twice (not after a database is recreated
    either) and a lost update cannot bring an old value back."""

    token = models.CharField(max_length=32)

"""Figures derived from the whole ledger (rollups, dashboards, compliance), cached until the next write.

A "generation" token, stored in the database, changes whenever data the figures are computed from
changes; cached figures are keyed by it, so a cached figure always equals a fresh one (see watch.py
for how writes are noticed, services.py for the token, cache.py for reading through it)."""

# The county list index, and maintained counts of active households (ledger.HouseholdCount), kept by triggers on the household
# table and filled from the ledger here. PostgreSQL: statement-level triggers with transition tables
# add one signed row per key per statement (a COPY of 200,000 rows adds a few hundred). SQLite: row
# triggers add to one row per key (a unique index; SQLite has a single writer, so no waiting).

from django.db import migrations, models
from django.db.models.functions import Substr

KEY = "township_code, plan_year, heating_path, state"
FILL = (f"INSERT INTO ledger_householdcount ({KEY}, n) SELECT substr(village_code, 1, 9), plan_year, "
        f"heating_path, state, count(*) FROM ledger_household WHERE NOT archived GROUP BY 1, 2, 3, 4")


def _pg_delta(new: bool, old: bool) -> str:
    parts = []
    if new:
        parts.append("SELECT substr(village_code, 1, 9) t, plan_year y, heating_path p, state s, 1 n "
                     "FROM new_rows WHERE NOT archived")
    if old:
        parts.append("SELECT substr(village_code, 1, 9) t, plan_year y, heating_path p, state s, -1 n "
                     "FROM old_rows WHERE NOT archived")
    return (f"INSERT INTO ledger_householdcount ({KEY}, n) SELECT t, y, p, s, sum(n) "
            f"FROM ({' UNION ALL '.join(parts)}) d GROUP BY t, y, p, s HAVING sum(n) <> 0;")


PG_TRIGGERS = []
for op, new, old, refs in [("insert", True, False, "NEW TABLE AS new_rows"),
                           ("delete", False, True, "OLD TABLE AS old_rows"),
                           ("update", True, True, "OLD TABLE AS old_rows NEW TABLE AS new_rows")]:
    PG_TRIGGERS += [
        f"CREATE FUNCTION ledger_household_count_{op}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN {_pg_delta(new, old)} RETURN NULL; END $$",
        f"CREATE TRIGGER ledger_household_count_{op} AFTER {op.upper()} ON ledger_household "
        f"REFERENCING {refs} FOR EACH STATEMENT EXECUTE FUNCTION ledger_household_count_{op}()",
    ]
PG_DROP = [f"DROP TRIGGER IF EXISTS ledger_household_count_{op} ON ledger_household; "
           f"DROP FUNCTION IF EXISTS ledger_household_count_{op}()" for op in ("insert", "delete", "update")]


def _sqlite_add(row: str, sign: int) -> str:
    return (f"INSERT INTO ledger_householdcount ({KEY}, n) SELECT substr({row}.village_code, 1, 9), "
            f"{row}.plan_year, {row}.heating_path, {row}.state, {sign} WHERE NOT {row}.archived "
            f"ON CONFLICT ({KEY}) DO UPDATE SET n = n + excluded.n;")


def _sqlite_take(row: str) -> str:
    # Only ever lowers a row that exists: the row of a stored household always does, and a test flush
    # that emptied the counts before the households (Django deletes tables in no fixed order) must not
    # leave negative counts behind for the next test.
    return (f"UPDATE ledger_householdcount SET n = n - 1 WHERE NOT {row}.archived AND "
            f"township_code = substr({row}.village_code, 1, 9) AND plan_year = {row}.plan_year AND "
            f"heating_path = {row}.heating_path AND state = {row}.state;")


CHANGED = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in ("village_code", "plan_year", "heating_path", "state", "archived"))
SQLITE_TRIGGERS = [
    f"CREATE UNIQUE INDEX hh_count_key ON ledger_householdcount ({KEY})",
    f"CREATE TRIGGER ledger_household_count_insert AFTER INSERT ON ledger_household BEGIN {_sqlite_add('NEW', 1)} END",
    f"CREATE TRIGGER ledger_household_count_delete AFTER DELETE ON ledger_household BEGIN {_sqlite_take('OLD')} END",
    f"CREATE TRIGGER ledger_household_count_update AFTER UPDATE ON ledger_household WHEN {CHANGED} "
    f"BEGIN {_sqlite_take('OLD')} {_sqlite_add('NEW', 1)} END",
]
SQLITE_DROP = ["DROP TRIGGER IF EXISTS ledger_household_count_insert", "DROP TRIGGER IF EXISTS ledger_household_count_delete",
               "DROP TRIGGER IF EXISTS ledger_household_count_update", "DROP INDEX IF EXISTS hh_count_key"]


def install(apps, schema_editor):
    statements = PG_TRIGGERS if schema_editor.connection.vendor == "postgresql" else SQLITE_TRIGGERS
    for sql in [*statements, FILL]:
        schema_editor.execute(sql)


def uninstall(apps, schema_editor):
    for sql in PG_DROP if schema_editor.connection.vendor == "postgresql" else SQLITE_DROP:
        schema_editor.execute(sql)


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0007_progress_deltas'),
        ('regions', '0003_region_changes_and_aliases'),
        ('rules', '0002_heatsource_villages'),
    ]

    operations = [
        migrations.CreateModel(
            name='HouseholdCount',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('township_code', models.CharField(max_length=9)),
                ('plan_year', models.PositiveSmallIntegerField()),
                ('heating_path', models.CharField(max_length=20)),
                ('state', models.CharField(max_length=20)),
                ('n', models.IntegerField()),
            ],
            options={
                'indexes': [models.Index(fields=['township_code', 'plan_year', 'heating_path', 'state', 'n'], name='hh_count_idx')],
            },
        ),
        migrations.RunPython(install, uninstall),
        # A county's and a city's household list in number order (see Household.Meta).
        migrations.AddIndex(
            model_name='household',
            index=models.Index(models.F('archived'), Substr('village', 1, 6), models.F('household_no'),
                               name='hh_county_list_idx'),
        ),
        migrations.AddIndex(
            model_name='household',
            index=models.Index(models.F('archived'), Substr('village', 1, 4), models.F('household_no'),
                               name='hh_city_list_idx'),
        ),
    ]

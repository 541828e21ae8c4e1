# Each household belongs to a plan year. Existing rows join the only plan when there is exactly
# one (the Xinzhou 2022 ledger), else 2022, the first plan year the platform served.
from django.db import migrations, models

import cleanheat.ledger.years

FIRST_YEAR = 2022


def existing_rows_join_the_plan(apps, schema_editor):
    plans = list(apps.get_model("plan", "Plan").objects.values_list("year", flat=True)[:2])
    year = plans[0] if len(plans) == 1 else FIRST_YEAR
    if year != FIRST_YEAR:
        apps.get_model("ledger", "Household").objects.update(plan_year=year)


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0004_household_version'),
        ('plan', '0002_townshiptarget'),
    ]

    operations = [
        migrations.AddField(
            model_name='household',
            name='plan_year',
            field=models.PositiveSmallIntegerField(default=FIRST_YEAR, verbose_name='计划年度'),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name='household',
            name='plan_year',
            field=models.PositiveSmallIntegerField(default=cleanheat.ledger.years.default_plan_year,
                                                   verbose_name='计划年度'),
        ),
        migrations.RunPython(existing_rows_join_the_plan, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name='household',
            index=models.Index(fields=['plan_year', 'archived', 'village', 'heating_path', 'state'], name='hh_year_rollup_idx'),
        ),
    ]

# Job moved to the jobs app (jobs.0001 takes it over with its table): drop it from this app's
# state only, so the table and its rows stay.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('imports', '0002_alter_job_kind'),
        ('jobs', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='Job')],
            database_operations=[],
        ),
    ]

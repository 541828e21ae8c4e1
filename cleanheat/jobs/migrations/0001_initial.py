# The Job model moves here from the imports app with its table (imports_job) and rows: this
# migration only adds it to Django's state; imports.0003 removes it from the imports app's state.

import django.db.models.deletion
import uuid
from django.conf import settings
from django.db import migrations, models


def move_content_type(apps, schema_editor):
    """Keep the existing content type (and the permissions pointing at it) for the moved model."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="imports", model="job").update(app_label="jobs")


def restore_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="jobs", model="job").update(app_label="imports")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("contenttypes", "0002_remove_content_type_name"),
        ("imports", "0002_alter_job_kind"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Job',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('kind', models.CharField(choices=[('import', '导入'), ('export_households', '导出台账'), ('export_rollup', '导出五级汇总'), ('sizing', '选型测算')], max_length=20, verbose_name='类型')),
                        ('region_scope', models.CharField(blank=True, max_length=12, verbose_name='范围')),
                        ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='时间')),
                        ('finished_at', models.DateTimeField(blank=True, null=True, verbose_name='完成时间')),
                        ('filename', models.CharField(blank=True, max_length=200, verbose_name='文件名')),
                        ('stored_path', models.CharField(blank=True, max_length=400)),
                        ('result_path', models.CharField(blank=True, max_length=400)),
                        ('report_path', models.CharField(blank=True, max_length=400)),
                        ('params', models.JSONField(blank=True, default=dict)),
                        ('status', models.CharField(choices=[('queued', '排队中'), ('running', '处理中'), ('previewed', '已预检，待确认'), ('committing', '写入中'), ('done', '已完成'), ('refused', '未写入'), ('failed', '出错')], default='queued', max_length=20, verbose_name='状态')),
                        ('counts', models.JSONField(blank=True, default=dict)),
                        ('problems', models.JSONField(blank=True, default=list)),
                        ('ignored_columns', models.JSONField(blank=True, default=list)),
                        ('message', models.TextField(blank=True, verbose_name='说明')),
                        ('valid_only', models.BooleanField(default=False, verbose_name='仅导入有效行')),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, to=settings.AUTH_USER_MODEL, verbose_name='操作人')),
                    ],
                    options={
                        'verbose_name': '导入导出任务',
                        'verbose_name_plural': '导入导出任务',
                        'ordering': ['-created_at'],
                        'db_table': 'imports_job',
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type, restore_content_type),
    ]

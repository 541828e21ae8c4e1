from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from cleanheat.ledger.choices import HeatingPath


class Plan(models.Model):
    """A city's yearly clean-heating plan (e.g. 忻清洁办发〔2022〕2号), loaded from a data file."""

    city_code = models.CharField(_("城市区划代码"), max_length=12)
    year = models.PositiveSmallIntegerField(_("年度"))
    name = models.CharField(_("名称"), max_length=120)
    document_no = models.CharField(_("文号"), max_length=60, blank=True)
    note = models.CharField(_("说明"), max_length=200, blank=True,
                            help_text=_("如“示例数据：目标为虚构”，显示在计划、看板与进度页上"))
    county_plans_due = models.DateField(_("县级方案备案截止"))
    works_start = models.DateField(_("组织实施开始"))
    works_deadline = models.DateField(_("完成施工期限"))
    self_check_start = models.DateField(_("自查自纠开始"))
    self_check_end = models.DateField(_("自查自纠结束"))
    assessment_start = models.DateField(_("统一考核开始"))
    assessment_end = models.DateField(_("统一考核结束"))
    heating_season_end = models.DateField(_("采暖季结束"))
    annual_report_due = models.DateField(_("年度总结报送期限"))
    dispatch_every_days = models.PositiveSmallIntegerField(_("调度周期（天）"), default=7)
    map_script = models.CharField(_("地图轮廓文件"), max_length=120, blank=True,
                                  help_text=_("static 下的 ECharts 地图脚本，如 vendor/map-xinzhou-….js"))
    map_name = models.CharField(_("地图名称"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("年度计划")
        verbose_name_plural = _("年度计划")
        unique_together = [("city_code", "year")]

    def __str__(self):
        return self.name


class CountyPlan(models.Model):
    """One county-level unit's share of the plan: targets, its deadline, capacity, responsible person."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="counties")
    county_code = models.CharField(_("县级区划代码"), max_length=6)
    works_deadline = models.DateField(_("本县完成期限"), null=True, blank=True,
                                      help_text=_("空则按全市期限（五台山风景名胜区为10月1日）"))
    monthly_capacity = models.PositiveIntegerField(_("月施工能力（户）"), null=True, blank=True)
    building_town_m2 = models.PositiveIntegerField(_("县城既有建筑节能改造（㎡）"), default=0)
    building_rural_m2 = models.PositiveIntegerField(_("农村围护结构改造（㎡）"), default=0)
    responsible_person = models.CharField(_("责任人"), max_length=40, blank=True)
    schedule_status = models.CharField(_("月度计划状态"), max_length=12, default="draft", choices=[
        ("draft", _("编制中")), ("submitted", _("已报送")), ("approved", _("已批准")), ("returned", _("已退回"))])
    schedule_submitted_at = models.DateTimeField(_("月度计划报送时间"), null=True, blank=True)
    schedule_reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    schedule_review_note = models.CharField(_("审核意见"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("县级计划")
        verbose_name_plural = _("县级计划")
        unique_together = [("plan", "county_code")]
        ordering = ["county_code"]

    @property
    def deadline(self):
        return self.works_deadline or self.plan.works_deadline


class Target(models.Model):
    county_plan = models.ForeignKey(CountyPlan, on_delete=models.CASCADE, related_name="targets")
    heating_path = models.CharField(_("取暖路径"), max_length=20, choices=HeatingPath.choices)
    households = models.PositiveIntegerField(_("目标户数"))

    class Meta:
        unique_together = [("county_plan", "heating_path")]


class ScheduleEntry(models.Model):
    """Cumulative households per path to reach 已完工 and 已验收 by each monthly checkpoint."""

    county_plan = models.ForeignKey(CountyPlan, on_delete=models.CASCADE, related_name="schedule")
    heating_path = models.CharField(_("取暖路径"), max_length=20, choices=HeatingPath.choices)
    checkpoint = models.DateField(_("节点"))
    installed = models.PositiveIntegerField(_("累计完工"))
    accepted = models.PositiveIntegerField(_("累计验收"))

    class Meta:
        unique_together = [("county_plan", "heating_path", "checkpoint")]
        ordering = ["county_plan", "heating_path", "checkpoint"]


class PlanChange(models.Model):
    """Every edit of a plan number: who changed which target when (the plan's version history)."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="changes")
    at = models.DateTimeField(_("时间"), auto_now_add=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    what = models.CharField(_("内容"), max_length=120)
    old_value = models.CharField(_("原值"), max_length=60, blank=True)
    new_value = models.CharField(_("新值"), max_length=60, blank=True)
    reason = models.CharField(_("原因"), max_length=200, blank=True)

    class Meta:
        ordering = ["-id"]


class DispatchReport(models.Model):
    """A county's routine dispatch report (调度) for one cycle. Each submission is a new row kept
    exactly as submitted; returning one for correction only records who returned it and why."""

    HELP_CHOICES = [("land", _("占地")), ("demolition", _("拆迁")), ("compensation", _("青赔")),
                    ("grid", _("电网")), ("gas", _("燃气")), ("other", _("其他"))]
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="dispatch_reports")
    county_code = models.CharField(_("县级区划代码"), max_length=6)
    period_start = models.DateField(_("周期开始"))
    period_end = models.DateField(_("周期结束"))
    version = models.PositiveSmallIntegerField(_("版本"), default=1)
    figures = models.JSONField(_("进度数据（报送时自动生成）"))
    problems = models.TextField(_("遇到的问题"), blank=True)
    help_needed = models.JSONField(_("需协调事项"), default=list, blank=True)
    responsible_person = models.CharField(_("责任人"), max_length=40)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(_("报送时间"), auto_now_add=True)
    returned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    returned_at = models.DateTimeField(_("退回时间"), null=True, blank=True)
    return_reason = models.CharField(_("退回原因"), max_length=200, blank=True)

    class Meta:
        ordering = ["-period_start", "county_code", "-version"]
        unique_together = [("plan", "county_code", "period_start", "version")]

    @property
    def status(self):
        return "returned" if self.returned_at else "submitted"


class TownshipTarget(models.Model):
    """A county's target for one path broken down to one of its townships, as the county set it.
    A county without any is broken down in proportion to the households confirmed in each township
    (cleanheat/plan/targets.py); villages always are, within their township."""

    county_plan = models.ForeignKey(CountyPlan, on_delete=models.CASCADE, related_name="township_targets")
    township_code = models.CharField(_("乡级区划代码"), max_length=9)
    heating_path = models.CharField(_("取暖路径"), max_length=20, choices=HeatingPath.choices)
    households = models.PositiveIntegerField(_("目标户数"))

    class Meta:
        verbose_name = _("乡镇目标")
        verbose_name_plural = _("乡镇目标")
        unique_together = [("county_plan", "township_code", "heating_path")]
        ordering = ["township_code", "heating_path"]

from django.db import models
from django.utils.translation import gettext_lazy as _

from . import codes


class Region(models.Model):
    """A node of the five-level hierarchy above the household: city, county, township, village."""

    LEVEL_CHOICES = [
        (codes.CITY, _("市")),
        (codes.COUNTY, _("县（市、区）")),
        (codes.TOWNSHIP, _("乡（镇、街道）")),
        (codes.VILLAGE, _("村（社区）")),
    ]

    code = models.CharField(_("区划代码"), max_length=12, unique=True)
    name = models.CharField(_("名称"), max_length=60)
    level = models.PositiveSmallIntegerField(_("层级"), choices=LEVEL_CHOICES)
    parent = models.ForeignKey("self", verbose_name=_("上级"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="children", to_field="code")
    kind = models.CharField(_("类型"), max_length=20, blank=True,
                            help_text=_("如 区、县、县级市、功能区、街道、镇、乡、村"))

    class Meta:
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")
        ordering = ["code"]

    def __str__(self):
        return self.name

    @property
    def prefix(self) -> str:
        return self.code[: codes.PREFIX_LENGTH[self.level]]

    def ancestors(self):
        """City … parent, found by code prefixes (one query)."""
        wanted = [codes.full_code(self.code[:n]) for lvl, n in codes.PREFIX_LENGTH.items() if lvl < self.level]
        return list(Region.objects.filter(code__in=wanted).order_by("level"))

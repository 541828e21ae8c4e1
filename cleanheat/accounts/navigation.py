"""The main menu per role, as one table: which role sees which item.

Each row names a page (its URL name, or a path) and the roles that see it in the menu. The menu only
shows; the server still refuses a page a role may not use (cleanheat/access.py), and
tests/test_navigation.py checks that no row offers a role a page the server would refuse it.
A superuser sees every item.
"""
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from .roles import CHECKLISTS, ROLES

EVERYONE = frozenset(ROLES)
MANAGERS = frozenset({"city_admin", "city_viewer", "county_admin"})
CLERKS = frozenset({"county_clerk", "township_clerk", "village_clerk"})
FINANCE = frozenset({"finance_staff", "county_finance"})


@dataclass(frozen=True)
class NavItem:
    target: str          # URL name, or a path starting with "/"
    label: str
    roles: frozenset
    key: str             # a stable name for tests and styling


NAV_ITEMS = (
    NavItem("home", _("台账总览"), EVERYONE, "home"),
    NavItem("dashboard_home", _("进度看板"), EVERYONE - {"vendor_repair"}, "dashboard"),
    NavItem("plan", _("年度计划"), MANAGERS | CLERKS - {"village_clerk"} | {"bureau_staff", "inspector"}, "plan"),
    NavItem("dispatch", _("调度"), MANAGERS | {"county_clerk", "inspector"}, "dispatch"),
    NavItem("compliance_home", _("合规检查"), MANAGERS | CLERKS | {"bureau_staff", "inspector"}, "compliance"),
    NavItem("households", _("居民用户"), EVERYONE, "households"),
    NavItem("catalog", _("设备目录"), MANAGERS | CLERKS - {"village_clerk"} | {"bureau_staff", "vendor_repair",
                                                                          "utility_staff"}, "catalog"),
    NavItem("contracts", _("采购合同"), MANAGERS | FINANCE | {"county_clerk", "inspector"}, "contracts"),
    NavItem("subsidies", _("补贴资金"), MANAGERS | CLERKS | FINANCE | {"county_energy", "inspector"}, "subsidies"),
    NavItem("declarations", _("补贴申报审核"), frozenset({"city_admin", "county_admin", "county_energy"}) | CLERKS | FINANCE,
            "declarations"),
    NavItem("notices", _("补贴公示"), MANAGERS | CLERKS | FINANCE | {"county_energy", "inspector"}, "notices"),
    NavItem("reports", _("报表与减排"), MANAGERS | {"county_clerk", "bureau_staff", "inspector", "county_energy"},
            "reports"),
    NavItem("acceptance_list", _("验收与检查"), MANAGERS | CLERKS - {"village_clerk"} | {"inspector", "field_inspector"},
            "inspections"),
    NavItem("payment_batches", _("补贴发放"), FINANCE | {"city_admin", "county_admin", "inspector"}, "payments"),
    NavItem("clearing", _("资金清算"), FINANCE | {"city_admin", "county_admin", "inspector"}, "clearing"),
    NavItem("household_create", _("新建户"), CLERKS | {"city_admin", "county_admin"}, "household_create"),
    NavItem("imports", _("台账导入"), CLERKS - {"village_clerk"} | {"city_admin", "county_admin"}, "imports"),
    NavItem("users", _("用户管理"), frozenset({"city_admin", "county_admin"}), "users"),
    NavItem("region_changes", _("区划调整"), frozenset({"city_admin", "county_admin"}), "region_changes"),
    NavItem("audit", _("安全审计"), frozenset({"city_admin", "county_admin"}), "audit"),
    NavItem("/api/docs", _("接口文档"), frozenset({"city_admin", "county_admin", "county_clerk"}), "api_docs"),
    # 热线与维修 (issue #17)
    NavItem("service", _("热线工单"), MANAGERS | CLERKS | {"hotline_operator", "inspector"}, "service"),
    NavItem("service_mine", _("我的工单"), frozenset({"vendor_repair", "utility_staff", "city_admin"}), "service_mine"),
    NavItem("service_dashboard", _("冬季运行看板"), frozenset({"city_admin", "county_admin"}), "service_dashboard"),
    NavItem("help_index", _("帮助"), EVERYONE, "help"),
    # 检查清单 (issue #18): the roles that may edit the checklists (CHECKLISTS)
    NavItem("checklists", _("检查清单"), frozenset(r.code for r in ROLES.values() if CHECKLISTS in r.permissions),
            "checklists"),
)


def items_for(user) -> list[NavItem]:
    """The menu rows the user sees (none before logging in)."""
    if not user or not user.is_authenticated:
        return []
    if user.is_superuser:
        return list(NAV_ITEMS)
    return [item for item in NAV_ITEMS if user.role in item.roles]

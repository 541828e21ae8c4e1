"""Roles and what each may do. Pure data, no Django: the access layer reads it.

A role's permissions apply only inside the user's region scope (a division-code prefix);
`scope_level` is the shortest scope the role may be given (city roles: the whole city).
"""
from dataclasses import dataclass, replace

VIEW = "ledger.view"                # lists, pages, rollups
EDIT = "ledger.edit"                # create and change households
LIFECYCLE = "ledger.lifecycle"      # move households through the conversion states
ARCHIVE = "ledger.archive"          # archive and restore
EXPORT = "ledger.export"
IMPORT = "ledger.import"
HISTORY = "ledger.history"          # see who changed what
SEE_ID = "pii.see_id"               # see the masked ID number at all
REVEAL_ID = "pii.reveal_id"         # reveal one full ID number (logged)
REVEAL_PHONE = "pii.reveal_phone"   # reveal one full phone number (logged)
REVEAL_BANK = "pii.reveal_bank"     # reveal one bank account (logged)
MANAGE_USERS = "users.manage"
VIEW_AUDIT = "audit.view_log"
CATALOG = "procurement.catalog"     # import and edit the tender catalog, run batch sizing
CONTRACTS = "procurement.contracts"  # enter county purchase contracts
ALLOCATE = "procurement.allocate"   # allocate a contracted model to a household
SUBSIDIES = "subsidies.subsidies"   # see subsidy policies and households' entitlements
POLICY = "subsidies.policy"         # enter, import and version subsidy policies (city finance)
COMPUTE = "subsidies.compute"       # compute entitlements for an area
APPROVE = "subsidies.approve"       # approve computed entitlements (county finance)
READINGS = "subsidies.readings"     # enter and import households' energy readings
DECLARE = "subsidies.declare"                  # declare a household's subsidy, correct and resubmit (申报)
REVIEW_TOWNSHIP = "subsidies.review_township"  # review declarations at the township (乡镇审核)
REVIEW_COUNTY = "subsidies.review_county"      # review declarations for county housing/energy (县级审核)
REGION_CHANGES = "regions.changes"             # record and apply region changes (撤乡并镇) within the scope

ALL = {VIEW, EDIT, LIFECYCLE, ARCHIVE, EXPORT, IMPORT, HISTORY, SEE_ID, REVEAL_ID, REVEAL_PHONE,
       REVEAL_BANK, MANAGE_USERS, VIEW_AUDIT, CATALOG, CONTRACTS, ALLOCATE, SUBSIDIES, POLICY, COMPUTE, APPROVE,
       READINGS, REGION_CHANGES}
ALL |= {DECLARE, REVIEW_TOWNSHIP, REVIEW_COUNTY}
# 资金、发放与清算 (issue #16 parts 4, 5, 8)
FUNDS = "subsidies.funds"           # record funds received (到位资金) and the city's overrides of a county's limit
PAY = "subsidies.pay"               # payment batches, the bank file (一卡通) and its return file, recoveries (追缴)
CLEARING = "subsidies.clearing"     # read funds, batches and the clearing (清算) of the counties in scope
ALL |= {FUNDS, PAY, CLEARING}
CLERK = {VIEW, EDIT, LIFECYCLE, EXPORT, IMPORT, HISTORY, SEE_ID, SUBSIDIES, READINGS}


@dataclass(frozen=True)
class Role:
    code: str
    label: str
    scope_level: int  # 4 = city-wide, 6 = county, 9 = township, 12 = village
    permissions: frozenset
    city_only: bool = False  # only a city-level manager may grant it


ROLES = {r.code: r for r in [
    Role("city_admin", "市级管理员", 4, frozenset(ALL), city_only=True),
    Role("city_viewer", "市级领导/查看", 4, frozenset({VIEW, EXPORT, HISTORY, SEE_ID, SUBSIDIES}), city_only=True),
    Role("county_admin", "县级管理员", 6, frozenset(ALL - {CATALOG, POLICY})),
    Role("county_clerk", "县级业务员", 6, frozenset(CLERK | {ARCHIVE, REVEAL_ID, REVEAL_PHONE, ALLOCATE})),
    Role("township_clerk", "乡镇业务员", 9, frozenset(CLERK | {REVEAL_ID, REVEAL_PHONE, ALLOCATE})),
    Role("village_clerk", "村级信息员", 12, frozenset(CLERK - {IMPORT, EXPORT} | {REVEAL_PHONE})),
    Role("bureau_staff", "市直部门人员", 4, frozenset({VIEW, EXPORT, SEE_ID}), city_only=True),
    Role("finance_staff", "市级财政部门人员", 4, frozenset({VIEW, EXPORT, SEE_ID, REVEAL_ID, REVEAL_BANK, SUBSIDIES, POLICY,
                                                     COMPUTE}), city_only=True),
    Role("county_finance", "县级财政部门人员", 6, frozenset({VIEW, EXPORT, SEE_ID, REVEAL_ID, REVEAL_BANK, SUBSIDIES,
                                                         COMPUTE, APPROVE})),
    Role("utility_staff", "供电/燃气/热力企业人员", 4, frozenset({VIEW, REVEAL_PHONE})),
    Role("vendor_repair", "设备企业维修专班", 4, frozenset({VIEW, REVEAL_PHONE})),
    Role("inspector", "督查人员（只读）", 4, frozenset({VIEW, HISTORY, SEE_ID, SUBSIDIES}), city_only=True),
    Role("county_energy", "县级住建/能源部门人员", 6, frozenset({VIEW, SEE_ID, SUBSIDIES, REVIEW_COUNTY})),
]}
# 申报审核 (issue #16 part 3): the clerks' share of declaration and review, added to their roles
DECLARATION_GRANTS = {"township_clerk": {DECLARE, REVIEW_TOWNSHIP}, "village_clerk": {DECLARE}}
ROLES.update({code: replace(ROLES[code], permissions=ROLES[code].permissions | extra)
              for code, extra in DECLARATION_GRANTS.items()})
# 报表与减排 (issue #19): emissions, calibration, coal-ban lists and generated reports (REPORTS); marking
# villages as coal-ban zones (COAL_BAN, within the county); uploading report templates (REPORT_TEMPLATES)
REPORTS = "reports.reports"
COAL_BAN = "reports.coal_ban"
REPORT_TEMPLATES = "reports.templates"
ALL |= {REPORTS, COAL_BAN, REPORT_TEMPLATES}
REPORT_GRANTS = {"city_admin": {REPORTS, COAL_BAN, REPORT_TEMPLATES}, "county_admin": {REPORTS, COAL_BAN},
                 "city_viewer": {REPORTS}, "county_clerk": {REPORTS}, "bureau_staff": {REPORTS},
                 "inspector": {REPORTS}, "county_energy": {REPORTS}}
ROLES.update({code: replace(ROLES[code], permissions=ROLES[code].permissions | extra)
              for code, extra in REPORT_GRANTS.items()})
# 资金、发放与清算: city finance records funds and clears; county finance pays its county's lines.
# A county administrator keeps everything but the city's funds (so they may still create county finance users).
PAYMENT_GRANTS = {"finance_staff": {FUNDS, CLEARING}, "county_finance": {PAY, CLEARING}, "inspector": {CLEARING}}
ROLES.update({code: replace(ROLES[code], permissions=ROLES[code].permissions | extra)
              for code, extra in PAYMENT_GRANTS.items()})
ROLES["county_admin"] = replace(ROLES["county_admin"], permissions=ROLES["county_admin"].permissions - {FUNDS})
ROLE_CHOICES = [(r.code, r.label) for r in ROLES.values()]


def permissions_of(role_code: str) -> frozenset:
    role = ROLES.get(role_code)
    return role.permissions if role else frozenset()


def can_assign(manager_role: str, role_code: str) -> bool:
    """A manager may hand out only roles whose permissions are within their own."""
    if role_code not in ROLES or manager_role not in ROLES:
        return False
    if ROLES[role_code].city_only and not ROLES[manager_role].city_only:
        return False
    return permissions_of(role_code) <= permissions_of(manager_role)


# 公示与异议 (issue #16 part 7): publishing a village's notice, recording an objection, deciding it
NOTICE = "subsidies.notice"                  # publish a village's public notice of subsidies (公示)
OBJECTION = "subsidies.objection"            # record an objection raised against a notice line
DECIDE_OBJECTION = "subsidies.decide_objection"  # record the outcome of an objection after checking it
ALL |= {NOTICE, OBJECTION, DECIDE_OBJECTION}
NOTICE_GRANTS = {"city_admin": {NOTICE, OBJECTION, DECIDE_OBJECTION},
                 "county_admin": {NOTICE, OBJECTION, DECIDE_OBJECTION},
                 "county_clerk": {NOTICE, OBJECTION, DECIDE_OBJECTION},
                 "county_finance": {NOTICE, OBJECTION, DECIDE_OBJECTION},
                 "township_clerk": {NOTICE, OBJECTION, DECIDE_OBJECTION},
                 "village_clerk": {NOTICE, OBJECTION}}
ROLES.update({code: replace(ROLES[code], permissions=ROLES[code].permissions | extra)
              for code, extra in NOTICE_GRANTS.items()})
# 验收与督导检查 (issue #18): recording acceptance and inspections with evidence is a grant of its own;
# the city edits the checklists. The read-only `inspector` role stays read-only; `field_inspector` is
# the inspection team member who fills checklists in the field (county-wide, or city-wide for the
# city's teams).
INSPECT = "inspections.inspect"          # fill checklists: acceptance records, inspection visits, photos
CHECKLISTS = "inspections.checklists"    # edit and load the checklists (a new version each time)
CONFIRM = "inspections.confirm"          # confirm (approve) the ledger of the level below, or reopen it
ALL |= {INSPECT, CHECKLISTS, CONFIRM}
INSPECTION_GRANTS = {"city_admin": {INSPECT, CHECKLISTS, CONFIRM}, "county_admin": {INSPECT, CONFIRM},
                     "county_clerk": {INSPECT}, "township_clerk": {INSPECT, CONFIRM}}
ROLES.update({code: replace(ROLES[code], permissions=ROLES[code].permissions | extra)
              for code, extra in INSPECTION_GRANTS.items()})
ROLES["field_inspector"] = Role("field_inspector", "检查验收人员", 6, frozenset({VIEW, SEE_ID, INSPECT}))
# 热线与维修 (issue #17): the hotline, repair teams and their tickets; a new role for the hotline operator
SERVICE_VIEW = "service.tickets"         # see tickets (工单) in the scope
SERVICE_OPEN = "service.open_ticket"         # open a ticket (hotline, village clerk)
SERVICE_WORK = "service.repair"         # work a ticket on site: arrive, photos, resolve (repair team)
SERVICE_CALLBACK = "service.callback"   # call the family back after resolution (回访)
SERVICE_MANAGE = "service.sla"       # SLA targets, teams, escalation, winter dashboard
SERVICE_ALL = {SERVICE_VIEW, SERVICE_OPEN, SERVICE_WORK, SERVICE_CALLBACK, SERVICE_MANAGE}
ALL |= SERVICE_ALL
ROLES["hotline_operator"] = Role("hotline_operator", "热线坐席", 4,
                                 frozenset({VIEW, REVEAL_PHONE, SERVICE_VIEW, SERVICE_OPEN, SERVICE_CALLBACK}))
SERVICE_GRANTS = {
    "city_admin": SERVICE_ALL, "county_admin": SERVICE_ALL,
    "city_viewer": {SERVICE_VIEW}, "inspector": {SERVICE_VIEW},
    "county_clerk": {SERVICE_VIEW, SERVICE_OPEN, SERVICE_CALLBACK},
    "township_clerk": {SERVICE_VIEW, SERVICE_OPEN}, "village_clerk": {SERVICE_VIEW, SERVICE_OPEN},
    "vendor_repair": {SERVICE_VIEW, SERVICE_WORK}, "utility_staff": {SERVICE_VIEW, SERVICE_WORK},
}
ROLES.update({code: replace(ROLES[code], permissions=ROLES[code].permissions | extra)
              for code, extra in SERVICE_GRANTS.items()})
# ---- API tokens for machine clients (issue #20 part 3): issuing and revoking them is the user
# administrators' (city and county), for users inside their own scope.
API_TOKENS = "users.api_tokens"
ALL |= {API_TOKENS}
ROLES.update({code: replace(ROLES[code], permissions=ROLES[code].permissions | {API_TOKENS})
              for code in ("city_admin", "county_admin")})
ROLE_CHOICES[:] = [(r.code, r.label) for r in ROLES.values()]
# ---- 乡镇报表 (issue #19): a township clerk generates the township's reports (progress, dispatch,
# annual summary, the villages' 公示/告知书), reads its emissions and coal-ban lists, and submits the
# township's reports to the county, which returns them when wrong. Only REPORTS: no coal-ban marking
# (the county's), no templates (the city's); the role's 9-digit scope keeps all of it to the township.
TOWNSHIP_REPORT_GRANTS = {"township_clerk": {REPORTS}}
ROLES.update({code: replace(ROLES[code], permissions=ROLES[code].permissions | extra)
              for code, extra in TOWNSHIP_REPORT_GRANTS.items()})

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


# ---- API tokens for machine clients (issue #20 part 3): issuing and revoking them is the user
# administrators' (city and county), for users inside their own scope.
API_TOKENS = "users.api_tokens"
ALL |= {API_TOKENS}
ROLES.update({code: replace(ROLES[code], permissions=ROLES[code].permissions | {API_TOKENS})
              for code in ("city_admin", "county_admin")})

"""The declaration's one rule (申报审核流程): its states, the moves between them and who may make
each (no Django).

Method. A village clerk declares a household's subsidy (draft, then submitted); the township
reviews it, then county housing/energy, then county finance approves. Whichever level holds it
may instead return it to the village with opinions per section; the village corrects and
resubmits (back to submitted, to be reviewed from the township again). A move is allowed when it
is one of MOVES from the current state and the user holds the permission its level names; every
door (page, bulk action, API) asks `check_move` and nothing else. Permission names are given by the
caller (the roles module's constants), so this module stays free of Django.
"""
from dataclasses import dataclass

DRAFT, SUBMITTED, TOWNSHIP, COUNTY, APPROVED, RETURNED = (
    "draft", "submitted", "township_reviewed", "county_reviewed", "approved", "returned")
STATES = (DRAFT, SUBMITTED, TOWNSHIP, COUNTY, APPROVED, RETURNED)
STATE_LABELS = {DRAFT: "草稿", SUBMITTED: "已提交（待乡镇审核）", TOWNSHIP: "乡镇已审核（待县级审核）",
                COUNTY: "县级已审核（待财政审批）", APPROVED: "已审批", RETURNED: "已退回（待村级修改）"}

SUBMIT, REVIEW, RETURN, RESUBMIT, APPROVE, EDIT = "submit", "review", "return", "resubmit", "approve", "edit"
ACTION_LABELS = {SUBMIT: "提交申报", REVIEW: "审核通过", RETURN: "退回", RESUBMIT: "修改后重新提交", APPROVE: "审批通过",
                 EDIT: "填写申报内容"}   # EDIT: a history step only, never a move

VILLAGE, TOWNSHIP_LEVEL, COUNTY_LEVEL, FINANCE = "village", "township", "county", "finance"
LEVEL_LABELS = {VILLAGE: "村级", TOWNSHIP_LEVEL: "乡镇", COUNTY_LEVEL: "县级住建/能源", FINANCE: "县级财政"}

# Sections a returning reviewer may give an opinion on (退回意见按部分填写).
SECTIONS = {"invoice": "发票信息", "install": "安装信息", "attachments": "附件", "other": "其他"}

# Which level holds a declaration in each state (and so may review, return or approve it).
HOLDER = {DRAFT: VILLAGE, SUBMITTED: TOWNSHIP_LEVEL, TOWNSHIP: COUNTY_LEVEL, COUNTY: FINANCE, RETURNED: VILLAGE}
# (state, action) → next state
MOVES = {(DRAFT, SUBMIT): SUBMITTED, (RETURNED, RESUBMIT): SUBMITTED,
         (SUBMITTED, REVIEW): TOWNSHIP, (TOWNSHIP, REVIEW): COUNTY, (COUNTY, APPROVE): APPROVED,
         (SUBMITTED, RETURN): RETURNED, (TOWNSHIP, RETURN): RETURNED, (COUNTY, RETURN): RETURNED}
EDITABLE = (DRAFT, RETURNED)   # the village may change the declaration's data and attachments


@dataclass(frozen=True)
class Refusal:
    field: str
    message: str


def level_of(state: str) -> str | None:
    return HOLDER.get(state)


def target(state: str, action: str) -> str | None:
    return MOVES.get((state, action))


def actions_from(state: str) -> list[str]:
    return [action for (here, action) in MOVES if here == state]


def check_move(state: str, action: str, held: set, permission_of: dict, opinions: dict | None = None) -> Refusal | None:
    """None when a user holding the permissions `held` may apply `action` to a declaration in
    `state`. permission_of: level → the permission that level's users hold. opinions: those of a
    return (None: not given yet, as when a page asks which buttons to show)."""
    if action not in ACTION_LABELS or action == EDIT:
        return Refusal("action", "操作应为提交、审核通过、退回、重新提交或审批通过之一")
    if (state, action) not in MOVES:
        return Refusal("action", f"当前状态为“{STATE_LABELS[state]}”，不能{ACTION_LABELS[action]}")
    level = HOLDER[state]
    if permission_of[level] not in held:
        return Refusal("action", f"此申报当前由{LEVEL_LABELS[level]}处理，您没有{ACTION_LABELS[action]}的权限")
    if action == RETURN and opinions is not None:
        return opinion_refusal(opinions)
    return None


def opinion_refusal(opinions: dict) -> Refusal | None:
    """A return needs at least one opinion, each on a known section."""
    unknown = [k for k in opinions if k not in SECTIONS]
    if unknown:
        return Refusal("opinions", f"退回意见的部分“{str(unknown[0])[:20]}”不存在，应为" + "、".join(SECTIONS.values()))
    if not any(str(v).strip() for v in opinions.values()):
        return Refusal("opinions", "退回时请至少填写一个部分的意见（" + "、".join(SECTIONS.values()) + "）")
    return None


def data_refusals(data: dict, *, today) -> list[Refusal]:
    """The declared facts: invoice number, purchase amount (fen, > 0), installer, install date (not
    in the future)."""
    found = []
    if not (data.get("invoice_no") or "").strip():
        found.append(Refusal("invoice_no", "请填写发票号码"))
    amount = data.get("purchase_fen")
    if amount is None:
        found.append(Refusal("purchase_fen", "请填写购置金额"))
    elif amount <= 0:
        found.append(Refusal("purchase_fen", "购置金额应大于0"))
    if not (data.get("installer") or "").strip():
        found.append(Refusal("installer", "请填写安装单位"))
    installed = data.get("installed_on")
    if installed is None:
        found.append(Refusal("installed_on", "请填写安装日期"))
    elif installed > today:
        found.append(Refusal("installed_on", "安装日期不能晚于今天"))
    return found


# Attachments: images only, recognised by their first bytes (not by the name they were sent with).
IMAGE_SIGNATURES = {b"\xff\xd8\xff": ("image/jpeg", ".jpg"), b"\x89PNG\r\n\x1a\n": ("image/png", ".png")}
ATTACHMENT_KINDS = {"invoice": "发票照片", "site": "现场照片"}


def image_type(head: bytes) -> tuple[str, str] | None:
    """(content type, suffix) of a JPEG or PNG from its first bytes, else None."""
    for signature, found in IMAGE_SIGNATURES.items():
        if head.startswith(signature):
            return found
    return None


def attachment_refusal(kind: str, head: bytes, size: int, limit: int) -> Refusal | None:
    label = ATTACHMENT_KINDS.get(kind)
    if label is None:
        return Refusal("attachments", "附件类别应为发票照片或现场照片")
    if size > limit:
        return Refusal(kind, f"{label}超过{limit // (1024 * 1024)}MB，请压缩后重新上传")
    if size == 0 or image_type(head) is None:
        return Refusal(kind, f"{label}应为 JPEG 或 PNG 图片")
    return None

"""The demo's inspections: the checklists, and an acceptance record for every demo household at
已验收 or later (its photos and the scan of the paper signature are a few generated placeholder
images per county, reused), written in bulk."""
import io
from datetime import timedelta

from django.utils import timezone
from PIL import Image, ImageDraw

from cleanheat.ledger import lifecycle
from cleanheat.ledger.choices import LifecycleState
from cleanheat.ledger.models import LifecycleEvent

from . import files, rounds
from .loader import current_checklist, load_checklists
from .models import AcceptanceRecord, Finding, FindingStep, InspectionKind, Visit
from .services import accepted_in_bulk

ACCEPTED_OR_LATER = lifecycle.STEPS[lifecycle.index(LifecycleState.ACCEPTED):]


def placeholder(text: str, colour) -> bytes:
    image = Image.new("RGB", (320, 240), colour)
    ImageDraw.Draw(image).text((12, 110), text, fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=70)
    return out.getvalue()


def placeholder_files(counties) -> dict:
    """county → [photo id, signature scan id], stored through the evidence storage."""
    photo, scan = placeholder("DEMO PHOTO", (60, 110, 160)), placeholder("DEMO SIGNED PAPER", (120, 120, 120))
    out = {}
    for county in counties:
        ids = []
        for name, content in (("demo-photo", photo), ("demo-signature", scan)):
            checked = files.Checked(content, "image/jpeg", ".jpg", None, None, None, ["演示占位图片"])
            ids.append(files.store(checked, region_code=county.ljust(12, "0"), name=name,
                                   original_name=f"{name}.jpg", user=None).pk)
        out[county] = ids
    return out


def load_demo_inspections() -> int:
    load_checklists()
    existing = set(AcceptanceRecord.objects.values_list("household_id", flat=True))
    rows = [r for r in LifecycleEvent.objects.filter(to_state=LifecycleState.ACCEPTED, is_backstep=False,
                                                     household__state__in=ACCEPTED_OR_LATER)
            .order_by("household_id").values_list("household_id", "household__household_no", "household__village_id",
                                                   "household__heating_path", "occurred_on")
            if r[0] not in existing]
    if not rows:
        return 0
    paths = {r[3] for r in rows}
    by_path = {p: current_checklist(p, InspectionKind.ACCEPTANCE) for p in paths}
    photos = placeholder_files(sorted({r[2][:6] for r in rows}))
    return accepted_in_bulk(rows, checklists_by_path=by_path, photo_ids=photos)


DEMO_ROUND = {"kind": "self", "region_code": "140902000000", "year": 2022, "name": "忻府区2022年县级自查（演示）",
              "seed": 20221015}


def load_demo_round(visits: int = 12) -> int:
    """One self-inspection round of the demo (忻府区): the sample drawn by the rule, a dozen visits,
    some items failed (findings), some rectified, one closed. Returns the number of findings."""
    spec = DEMO_ROUND
    if not rounds.eligible(spec["region_code"], spec["year"]):
        return 0
    round_ = rounds.create_round(**spec)
    photo = placeholder_files([spec["region_code"][:6]])[spec["region_code"][:6]][0]
    now, today = timezone.now(), timezone.localdate()
    made = 0
    for n, sample in enumerate(round_.samples.select_related("household")[:visits]):
        checklist = current_checklist(sample.heating_path, round_.kind)
        items = {i.code: i for i in checklist.items.all()}
        answers = {c: (i.expected if i.item_type == "yes_no" else "19" if i.item_type == "number"
                       else [photo] if i.item_type == "photo" else "") for c, i in items.items()}
        failed = []
        if n % 4 == 1 and "indoor_temp" in items:
            answers["indoor_temp"], failed = "16", [("indoor_temp", "当日室内温度：16℃（应为≥18.00℃）")]
        if n % 6 == 5:
            answers["old_stove_kept"] = False
            failed.append(("old_stove_kept", "原取暖设施仍保留（先立后破）：否"))
        visit = Visit.objects.create(client_id=f"demo-{round_.pk}-{sample.pk}", sample=sample,
                                     region_code=sample.region_code, checklist=checklist, answers=answers,
                                     failed_items=[m for _, m in failed], visited_at=now - timedelta(days=20 - n),
                                     inspector=None)
        for code, message in failed:
            late = n in (1, 9)   # the first one still open and overdue
            finding = Finding.objects.create(
                visit=visit, round=round_, household=sample.household, region_code=sample.region_code,
                item_code=code, description=message, severity=items[code].severity,
                responsible_unit=sample.region_code[:6], deadline=today - timedelta(days=5) if late
                else today + timedelta(days=10))
            made += 1
            if n >= 5:   # rectified; the fifth visit's closed after review
                FindingStep.objects.create(finding=finding, action="rectify", note="已整改（演示）", evidence=[photo])
                finding.status = "rectified"
                if n == 5:
                    FindingStep.objects.create(finding=finding, action="close", note="复核合格（演示）")
                    finding.status, finding.closed_on = "closed", today
                finding.save(update_fields=["status", "closed_on"])
    return made

"""The demo's inspections: the checklists, and an acceptance record for every demo household at
已验收 or later (its photos and the scan of the paper signature are a few generated placeholder
images per county, reused), written in bulk."""
import io

from PIL import Image, ImageDraw

from cleanheat.ledger import lifecycle
from cleanheat.ledger.choices import LifecycleState
from cleanheat.ledger.models import LifecycleEvent

from . import files
from .loader import current_checklist, load_checklists
from .models import AcceptanceRecord, InspectionKind
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

"""Synthetic residents for tests: valid checksums, invented people."""
import io
import itertools

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from cleanheat.inspections import services as inspections
from cleanheat.inspections.loader import current_checklist
from cleanheat.ledger.identity import id_check_char
from cleanheat.regions.models import Region

_serial = itertools.count(1)


def new_id_number(county="140902", born="19700101"):
    first17 = f"{county}{born}{900 + next(_serial) % 99:03d}"
    return first17 + id_check_char(first17)


def village(county="140902"):
    return Region.objects.filter(level=4, code__startswith=county).order_by("code").first()


def household_data(**overrides):
    county = overrides.pop("county", "140902")
    data = {
        "village": village(county).code,
        "householder_name": "测试户主",
        "id_number": new_id_number(county, born=f"19{50 + next(_serial) % 40}0{1 + next(_serial) % 9}15"),
        "phone": "13912345678",
        "address": "1号",
        "household_size": "3",
        "heated_area": "96.5",
        "structure": "brick_concrete",
        "original_facility": "tunuanqi",
        "heating_path": "central",
        "heat_source": f"{county}示范热源（演示）",
    }
    data.update(overrides)
    return data


def photo(name="photo.jpg", size=(64, 48), exif=True):
    """A small JPEG upload (with a camera time in its EXIF unless exif=False)."""
    image, out = Image.new("RGB", size, (90, 140, 200)), io.BytesIO()
    info = Image.Exif()
    if exif:
        info.get_ifd(0x8769)[0x9003] = "2022:10:20 10:30:00"
    image.save(out, "JPEG", exif=info.tobytes() if exif else b"")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/jpeg")


def passing_answers(household):
    """Answers that pass every item of the household's acceptance checklist, and its photos."""
    checklist = current_checklist(household.heating_path, "acceptance")
    answers, photos = {}, {}
    for item in checklist.items.all():
        if item.item_type == "photo":
            photos[item.code] = [photo(f"{item.code}.jpg")]
        elif item.item_type == "yes_no":
            answers[item.code] = "是" if item.expected else "否"
        elif item.item_type == "number":
            answers[item.code] = "20"
    return answers, photos


def accept(household, user=None, on=None, **answers_override):
    """Accept an 已完工 household the way an inspector does: a passed acceptance record (checklist,
    photos, both people, a scan of the paper signature), which moves it to 已验收."""
    answers, photos = passing_answers(household)
    answers.update(answers_override)
    return inspections.record_acceptance(household, inspections.AcceptanceInput(
        answers=answers, photos=photos, inspector_name="验收员甲", representative_name="户主乙", accepted_on=on,
        signature=photo("scan.jpg"), signed_on_paper=True), user=user)

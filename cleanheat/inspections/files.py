"""Photos and scans kept as evidence, through Django's storage API.

`evidence_storage()`: the storage named "evidence" in settings.STORAGES when one is configured (any
S3-compatible object store through django-storages in production), else local files under
DATA_DIR/evidence. The original is kept as uploaded (evidence); a display copy is resized and has its
EXIF removed. Files are served only by the scoped view (`views.evidence_file`)."""
import hashlib
import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, storages
from django.core.files.storage.handler import InvalidStorageError
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from .models import EvidenceFile

TYPES = {"JPEG": ("image/jpeg", ".jpg"), "PNG": ("image/png", ".png")}
DISPLAY_SIDE = 1280
DEFAULT_LIMIT = 15 * 1024 * 1024
EXIF_DATETIME_ORIGINAL, EXIF_IFD, GPS_IFD = 0x9003, 0x8769, 0x8825
Image.MAX_IMAGE_PIXELS = 60_000_000  # a decompression bomb is refused, not decoded


def evidence_storage():
    try:
        return storages["evidence"]
    except InvalidStorageError:
        return FileSystemStorage(location=Path(settings.DATA_DIR) / "evidence")


def limit() -> int:
    return getattr(settings, "CLEANHEAT_MAX_EVIDENCE_BYTES", DEFAULT_LIMIT)


@dataclass
class Checked:
    content: bytes
    content_type: str
    suffix: str
    taken_at: datetime | None
    latitude: float | None
    longitude: float | None
    warnings: list
    label: str = ""   # how messages name it (“设备铭牌照片”第1张照片)


def check_image(uploaded, label: str) -> Checked:
    """The upload as an image we keep, or ValueError with a message naming `label` and the reason."""
    size = getattr(uploaded, "size", None) or 0
    if size > limit():
        raise ValueError(f"{label}超过{limit() // (1024 * 1024)}MB（{size / 1024 / 1024:.1f}MB），请压缩后重新上传")
    content = uploaded.read()
    uploaded.seek(0)
    if not content:
        raise ValueError(f"{label}是空文件")
    if len(content) > limit():
        raise ValueError(f"{label}超过{limit() // (1024 * 1024)}MB，请压缩后重新上传")
    try:
        with Image.open(io.BytesIO(content)) as image:
            image.verify()
        with Image.open(io.BytesIO(content)) as image:
            kind = image.format
            exif = image.getexif()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValueError(f"{label}不是可识别的图片（应为 JPEG 或 PNG 照片）") from None
    if kind not in TYPES:
        raise ValueError(f"{label}应为 JPEG 或 PNG 图片，而不是 {kind}")
    taken, lat, lon = _exif(exif)
    warnings = [] if taken or lat is not None else [f"{label}没有拍摄时间和位置信息（EXIF），请尽量用手机相机直接拍摄"]
    content_type, suffix = TYPES[kind]
    return Checked(content, content_type, suffix, taken, lat, lon, warnings, label)


def _exif(exif) -> tuple:
    taken = None
    raw = exif.get_ifd(EXIF_IFD).get(EXIF_DATETIME_ORIGINAL) if exif else None
    if raw:
        try:
            taken = datetime.strptime(str(raw).strip("\x00 "), "%Y:%m:%d %H:%M:%S")
        except ValueError:
            taken = None
    gps = exif.get_ifd(GPS_IFD) if exif else {}
    lat = _degrees(gps.get(2), gps.get(1)) if gps else None
    lon = _degrees(gps.get(4), gps.get(3)) if gps else None
    return taken, lat, lon


def _degrees(value, ref) -> float | None:
    try:
        d, m, s = (float(x) for x in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    sign = -1 if str(ref).upper().startswith(("S", "W")) else 1
    return sign * (d + m / 60 + s / 3600)


def display_copy(content: bytes) -> bytes:
    """A JPEG at most DISPLAY_SIDE on its long side, without EXIF (no location in what is shown)."""
    with Image.open(io.BytesIO(content)) as image:
        image = image.convert("RGB")
        image.thumbnail((DISPLAY_SIDE, DISPLAY_SIDE))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=82)
    return out.getvalue()


def store(checked: Checked, *, region_code: str, name: str, original_name: str, user) -> EvidenceFile:
    """Saves the original and its display copy; returns the (saved) file row."""
    storage = evidence_storage()
    digest = hashlib.sha256(checked.content).hexdigest()
    stored = storage.save(f"{region_code[:6]}/{region_code}/{name}{checked.suffix}", ContentFile(checked.content))
    shown = storage.save(f"{region_code[:6]}/{region_code}/{name}-display.jpg",
                         ContentFile(display_copy(checked.content)))
    return EvidenceFile.objects.create(
        region_code=region_code, stored_name=stored, display_name=shown, original_name=(original_name or name)[:120],
        content_type=checked.content_type, size=len(checked.content), sha256=digest, taken_at=aware(checked.taken_at),
        latitude=checked.latitude, longitude=checked.longitude, warnings=checked.warnings, uploaded_by=user)


def remove(names) -> None:
    """Files stored for a write that did not land (nothing half-saved)."""
    storage = evidence_storage()
    for name in names:
        if name:
            storage.delete(name)


def aware(moment):
    """An EXIF time (local, naive) as an aware time."""
    if moment is None:
        return None
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment

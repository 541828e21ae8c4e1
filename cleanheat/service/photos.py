"""Repair photos: read what the phone's camera recorded (EXIF time taken and GPS position) and store a
resized JPEG. Pure (Pillow, no Django).

Method: the file is opened by Pillow from its bytes (the name and declared type are ignored); anything
Pillow cannot read as JPEG, PNG, WebP or HEIF-less formats it knows is refused. Pictures of more than
MAX_PIXELS pixels are refused before decoding (decompression bombs). EXIF DateTimeOriginal (tag 36867 in
the Exif IFD, else DateTime 306) gives the time taken, in the phone's local time; the GPS IFD (tags 1–4:
latitude ref and degrees/minutes/seconds, longitude ref and d/m/s) gives the position in decimal degrees.
The image is turned upright by its EXIF orientation, reduced so its longer side is at most `max_side`
pixels and saved as JPEG (quality 85) without the EXIF block: the values read are kept in the database.
Sources: EXIF 2.32 (CIPA DC-008), tags 0x8769 (Exif IFD), 0x8825 (GPS IFD); Pillow's ImageOps.exif_transpose.
"""
import io
from dataclasses import dataclass
from datetime import datetime

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PIXELS = 60_000_000
FORMATS = {"JPEG", "PNG", "WEBP", "MPO"}


@dataclass
class Photo:
    data: bytes
    width: int
    height: int
    taken_at: datetime | None   # naive, the camera's local time
    lat: float | None
    lon: float | None


class NotAnImage(ValueError):
    pass


def _dms(values, ref) -> float | None:
    try:
        degrees, minutes, seconds = (float(v) for v in values)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    value = degrees + minutes / 60 + seconds / 3600
    return -value if ref in ("S", "W") else value


def _exif(image) -> tuple[datetime | None, float | None, float | None]:
    exif = image.getexif()
    taken = exif.get_ifd(0x8769).get(36867) or exif.get(306)
    taken_at = None
    if isinstance(taken, str):
        try:
            taken_at = datetime.strptime(taken.strip("\x00 "), "%Y:%m:%d %H:%M:%S")
        except ValueError:
            taken_at = None
    gps = exif.get_ifd(0x8825)
    lat = _dms(gps.get(2), gps.get(1)) if gps.get(2) else None
    lon = _dms(gps.get(4), gps.get(3)) if gps.get(4) else None
    if lat is not None and lon is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
        lat = lon = None
    return taken_at, lat, lon


def process(raw: bytes, max_side: int = 1600) -> Photo:
    try:
        image = Image.open(io.BytesIO(raw))
        if image.format not in FORMATS:
            raise NotAnImage("只接受 JPEG、PNG 或 WebP 照片")
        if image.width * image.height > MAX_PIXELS:
            raise NotAnImage(f"照片像素过多（{image.width}×{image.height}），请用手机相机的普通尺寸拍摄")
        taken_at, lat, lon = _exif(image)
        image = ImageOps.exif_transpose(image)
        image.thumbnail((max_side, max_side))
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        out = io.BytesIO()
        image.save(out, "JPEG", quality=85)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError) as exc:
        raise NotAnImage("文件不是可识别的图片（只接受 JPEG、PNG 或 WebP 照片）") from exc
    return Photo(out.getvalue(), image.width, image.height, taken_at, lat, lon)

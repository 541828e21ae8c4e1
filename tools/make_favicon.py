"""Draws the CleanHeat favicon (blue tile, white house, orange flame, as static/img/favicon.svg) and
rasterises the same shapes to a 32x32 PNG inside static/img/favicon.ico, with no imaging library:
`python3 tools/make_favicon.py`."""
import struct
import zlib
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "cleanheat" / "static" / "img"

N = 32
BLUE, WHITE, ORANGE = (0x1d, 0x4e, 0x89, 255), (255, 255, 255, 255), (0xf2, 0x8c, 0x28, 255)
HOUSE = [(16, 5), (28, 15), (25, 15), (25, 27), (7, 27), (7, 15), (4, 15)]
FLAME = [(16, 11), (20, 17), (21, 21), (19, 24.5), (16, 25.5), (13, 24.5), (11, 21), (12, 17), (14.5, 19)]


def inside(poly, x, y):
    hit = False
    for (x1, y1), (x2, y2) in zip(poly, poly[1:] + poly[:1]):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            hit = not hit
    return hit


def pixel(x, y):
    r = 6  # rounded corners
    cx, cy = min(max(x, r), N - r), min(max(y, r), N - r)
    if (x - cx) ** 2 + (y - cy) ** 2 > r * r:
        return (0, 0, 0, 0)
    if inside(FLAME, x, y):
        return ORANGE
    return WHITE if inside(HOUSE, x, y) else BLUE


def sample(px, py, k=4):
    acc = [0, 0, 0, 0]
    for i in range(k):
        for j in range(k):
            c = pixel(px + (i + .5) / k, py + (j + .5) / k)
            for n in range(4):
                acc[n] += c[n]
    return bytes(round(a / k / k) for a in acc)



raw = b"".join(b"\0" + b"".join(sample(x, y) for x in range(N)) for y in range(N))


def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)


png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", N, N, 8, 6, 0, 0, 0)) + \
    chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
ico = struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", N, N, 0, 0, 1, 32, len(png), 22) + png
(OUT / "favicon.ico").write_bytes(ico)

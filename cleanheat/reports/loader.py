"""Loads the reference data of the reports app (emission factors, coal use, path energy, built-in
report layouts) from reports/data. Takes the model classes as arguments, so that the initial
migration and the `load_report_data` command share it."""
import hashlib
import json
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
EMISSIONS = DATA_DIR / "xinzhou-emissions.json"
LAYOUTS = DATA_DIR / "layouts"


def read_emissions(path: Path = EMISSIONS) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def load_emissions(models: dict, spec: dict | None = None) -> None:
    """Insert or update the figures of `spec` (models: name → model class)."""
    spec = spec or read_emissions()
    for group in ("coal_use", "paths", "factors"):  # all checked before anything is written
        for row in spec[group]:
            if not (row.get("source") or "").strip():
                what = f"{row['carrier']}/{row['pollutant']}" if group == "factors" else \
                    row.get("county_code") or row.get("heating_path") or "全市"
                raise ValueError(f"{'排放因子' if group == 'factors' else '数据'} {what} 未注明来源")
    city = spec["city_code"]
    s = spec["settings"]
    models["EmissionSettings"].objects.update_or_create(city_code=city, defaults={
        "basis": s["basis"], "coal_mj_per_kg": s["coal_mj_per_kg"], "stove_efficiency": s["stove_efficiency"],
        "source": s["source"]})
    for row in spec["coal_use"]:
        models["CoalUse"].objects.update_or_create(city_code=city, county_code=row["county_code"], defaults={
            "t_per_household": row["t_per_household"], "year": row["year"], "source": row["source"]})
    for row in spec["paths"]:
        models["PathEnergy"].objects.update_or_create(city_code=city, heating_path=row["heating_path"], defaults={
            k: row[k] for k in ("carrier", "unit", "mj_per_unit", "efficiency", "source")})
    for row in spec["factors"]:
        models["EmissionFactor"].objects.update_or_create(
            carrier=row["carrier"], pollutant=row["pollutant"], year=row["year"],
            defaults={"kg_per_unit": row["kg_per_unit"], "source": row["source"],
                      "estimated": row.get("estimated", False)})


def load_layouts(model) -> None:
    """The built-in report layouts (data/layouts/*.xlsx, described in layouts.json)."""
    for entry in json.loads((LAYOUTS / "layouts.json").read_text(encoding="utf-8")):
        content = (LAYOUTS / entry["file"]).read_bytes()
        model.objects.update_or_create(code=entry["code"], defaults={
            "name": entry["name"], "description": entry["description"], "content": content,
            "sha256": hashlib.sha256(content).hexdigest(), "builtin": True})

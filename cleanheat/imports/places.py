"""Villages named the way clerks write them (county, township, village names or the 12-digit code)."""
from collections import defaultdict

from cleanheat.access import user_prefix
from cleanheat.ledger import identity
from cleanheat.regions import codes
from cleanheat.regions import services as region_changes
from cleanheat.regions.models import Region

LOCATION_FIELDS = ("county", "township", "village", "village_code")


def plain(text) -> str:
    """A cell's text as names are compared: trimmed, full-width folded."""
    return identity.normalise_text(text)


class VillageFinder:
    """Villages named the way clerks write them, within the uploader's scope; old codes and old
    names from region changes (撤乡并镇) are read as the villages now in force, with a note."""

    def __init__(self, user, villages):
        prefix = user_prefix(user)
        self.by_triple, self.by_pair, self.by_name = {}, defaultdict(list), defaultdict(list)
        names = dict(Region.objects.filter(level__in=(codes.COUNTY, codes.TOWNSHIP)).values_list("code", "name"))
        for code, village in villages.items():
            if not code.startswith(prefix):
                continue
            county, township = names.get(codes.full_code(code[:6]), ""), names.get(codes.full_code(code[:9]), "")
            for key in dict.fromkeys(plain(name) for name in village.match_names()):  # 奇村村委会, 奇村
                self.by_triple[(plain(county), plain(township), key)] = code
                self.by_pair[(plain(township), key)].append(code)
                self.by_name[key].append(code)
        self.moved = region_changes.moved_codes()   # old code → (code in force, note)
        self.old_names = {}                          # (old township, old village name) → (code, note)
        renamed_townships = defaultdict(list)        # township code → (old name, note)
        for township, name, code, note in region_changes.old_names():
            if codes.level_of(code) == codes.TOWNSHIP:
                renamed_townships[code].append((name, note))
            elif code in villages and code.startswith(prefix):
                self._old_name(township, name, code, note)
        for code, village in villages.items():  # villages of a renamed township, named with its old name
            renamed = renamed_townships.get(codes.full_code(code[:9]), []) if code.startswith(prefix) else []
            for township, note in renamed:
                for name in village.match_names():
                    self._old_name(township, name, code, note)

    def _old_name(self, township, name, code, note):
        key = (plain(township), plain(name))
        if key not in self.by_pair:
            self.old_names.setdefault(key, (code, note))

    def find(self, county, township, village):
        return self.find_noted(county, township, village)[0]

    def find_noted(self, county, township, village):
        """(code, note): note says when an old name of a region change was read as today's village."""
        village = plain(village)
        if not village:
            raise ValueError("未填写村（社区）名称或村区划代码")
        if county and township and (code := self.by_triple.get((plain(county), plain(township), village))):
            return code, ""
        if township and (old := self.old_names.get((plain(township), village))):
            return old
        candidates = self.by_pair.get((plain(township), village), []) if township else self.by_name.get(village, [])
        if len(candidates) == 1:
            return candidates[0], ""
        if not candidates:
            where = f"{township}" if township else ""
            raise ValueError(f"在您的管辖范围内找不到村（社区）“{where}{village}”，请核对名称或填写村区划代码")
        raise ValueError(f"“{village}”在您的管辖范围内有{len(candidates)}个同名村，请同时填写乡镇或填写村区划代码")


def village_of(values: dict, finder: VillageFinder):
    """The village code a row names (by code or by names), None if it names none; ValueError if unclear."""
    return place_of(values, finder)[0]


def place_of(values: dict, finder: VillageFinder):
    """(village code, note) a row names; the note says an old code or name of a region change was
    read as the village in force. (None, "") if it names none; ValueError if unclear."""
    code = plain(values.get("village_code", ""))
    if code:
        if not (code.isdigit() and len(code) == 12):
            raise ValueError(f"村区划代码“{code}”应为12位数字")
        return finder.moved.get(code, (code, ""))
    if any(values.get(f) for f in ("county", "township", "village")):
        return finder.find_noted(values.get("county", ""), values.get("township", ""), values.get("village", ""))
    return None, ""


def location_column(col_of: dict):
    """The column a problem with the row's place is reported on."""
    for f in ("village_code", "village", "township", "county"):
        if f in col_of:
            return col_of[f]
    return None

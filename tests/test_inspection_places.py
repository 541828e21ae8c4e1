"""Issue #18 (d, g): a photo taken far from its village is flagged (village, else township, else county
coordinates, from data), villages' coordinates come from a sheet checked row by row, the field list is
nearest first, and setting the S3 variables sends the evidence files to an object store."""
import io
import json
import re
from datetime import date
from decimal import Decimal

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image
from storages.backends.s3 import S3Storage

from cleanheat.filestores import S3_BACKEND, build_storages
from cleanheat.inspections import photo_checks, rounds
from cleanheat.inspections import services as inspections
from cleanheat.inspections.coordinates import rows_of
from cleanheat.inspections.distance import haversine_km, nearest_first
from cleanheat.inspections.field_views import LISTED, open_samples
from cleanheat.inspections.loader import current_checklist
from cleanheat.inspections.models import EvidenceFile, Visit
from cleanheat.ledger import services
from cleanheat.ledger.models import Household
from cleanheat.regions import services as regions
from cleanheat.regions.models import Region

from .conftest import make_user
from .factories import household_data, passing_answers, photo

pytestmark = pytest.mark.django_db
KM_PER_DEGREE_LAT = 111.2
ENDPOINT = "https://minio.example:9000"


def gps_photo(lat, lon, name="site.jpg"):
    """A JPEG whose EXIF says it was taken at (lat, lon)."""
    image, out, info = Image.new("RGB", (64, 48), (90, 140, 200)), io.BytesIO(), Image.Exif()
    info.get_ifd(0x8769)[0x9003] = "2022:10:20 10:30:00"
    gps = info.get_ifd(0x8825)

    def dms(x):
        d = int(x)
        m = int((x - d) * 60)
        return (float(d), float(m), round(((x - d) * 60 - m) * 60, 3))
    gps[1], gps[2], gps[3], gps[4] = "N", dms(lat), "E", dms(lon)
    image.save(out, "JPEG", exif=info.tobytes())
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/jpeg")


@pytest.fixture
def clerk():
    return make_user("gps_clerk", "140902", role="county_clerk")


def installed(user):
    data = household_data(county="140902", heating_path="electric", electric_device="ashp_air", heat_source="")
    h = services.create_household(data, user=user)
    for state in ("selected", "installing", "installed"):
        services.transition(h, state, user=user)
    return Household.objects.get(pk=h.pk)


def set_point(code, lat, lon):
    Region.objects.filter(code=code).update(latitude=lat, longitude=lon)


def accept_with(h, user, *uploads):
    """An acceptance whose photo items get `uploads` (first photo item: all of them)."""
    answers, photos = passing_answers(h)
    first = next(iter(photos))
    photos = {**{k: [photo()] for k in photos}, first: list(uploads)}
    return inspections.record_acceptance(h, inspections.AcceptanceInput(
        answers=answers, photos=photos, inspector_name="验收员甲", representative_name="户主乙",
        signature=photo("scan.jpg"), signed_on_paper=True), user=user)


def warnings_of(record) -> list:
    ids = [pk for v in record.answers.values() if isinstance(v, list) for pk in v]
    return [w for ws in EvidenceFile.objects.filter(pk__in=ids).order_by("pk").values_list("warnings", flat=True)
            for w in ws]


# ---- distances (pure) -------------------------------------------------------------------------

def test_haversine_gives_known_distances():
    assert haversine_km(39.9042, 116.4074, 31.2304, 121.4737) == pytest.approx(1067, abs=5)   # Beijing–Shanghai
    assert haversine_km(38.0, 112.0, 38.0, 112.0) == 0
    assert haversine_km(38.0, 112.0, 39.0, 112.0) == pytest.approx(111.2, abs=0.2)            # one degree north


def test_nearest_first_orders_by_distance_and_keeps_unknowns_last_in_order():
    points = {"a": (38.9, 112.0), "b": (38.1, 112.0), "c": None, "d": (38.5, 112.0), "e": None}
    ordered = nearest_first(list("abcde"), (38.0, 112.0), points.get)
    assert [i for i, _ in ordered] == ["b", "d", "a", "c", "e"]
    assert ordered[0][1] == pytest.approx(11.1, abs=0.2) and ordered[-1][1] is None
    assert nearest_first(list("abc"), None, points.get) == [("a", None), ("b", None), ("c", None)]


# ---- photo place warnings -----------------------------------------------------------------------

def test_a_photo_500_km_away_is_flagged_and_one_2_km_away_is_not(clerk, client):
    h = installed(clerk)
    set_point(h.village_id, 38.40, 112.70)
    far_lat = 38.40 + 500 / KM_PER_DEGREE_LAT
    record = accept_with(h, clerk, gps_photo(38.40 + 2 / KM_PER_DEGREE_LAT, 112.70), gps_photo(far_lat, 112.70))
    notes = warnings_of(record)
    assert len(notes) == 1, notes   # only the far one
    assert re.search(r"第2张照片拍摄位置距该村约 (49\d|50\d) 公里，请核实是否在现场拍摄", notes[0]), notes
    assert record.passed   # a warning, not a refusal
    client.force_login(clerk)
    page = client.get(f"/inspections/acceptance/{record.number}/").content.decode()
    assert notes[0] in page


def test_without_village_coordinates_the_township_is_used_and_named(clerk):
    h = installed(clerk)
    township = Region.objects.get(code=h.village_id[:9] + "000")
    set_point(h.village_id, None, None)
    set_point(township.code, 38.40, 112.70)
    record = accept_with(h, clerk, gps_photo(38.40 + 100 / KM_PER_DEGREE_LAT, 112.70))
    notes = warnings_of(record)
    assert len(notes) == 1 and "该村未登记坐标，按所属乡镇" in notes[0] and township.name in notes[0], notes
    assert "约 100 公里" in notes[0]
    # within the township's wider threshold (data): no warning
    limit = photo_checks.thresholds()["distance_km"]["township"]
    assert limit > photo_checks.thresholds()["distance_km"]["village"]
    record = accept_with(installed(clerk), clerk, gps_photo(38.40 + (limit - 2) / KM_PER_DEGREE_LAT, 112.70))
    assert warnings_of(record) == []


def test_without_any_coordinates_it_says_so_once(clerk):
    h = installed(clerk)
    for code in (h.village_id, h.village_id[:9] + "000", h.village_id[:6] + "000000"):
        set_point(code, None, None)
    record = accept_with(h, clerk, gps_photo(38.4, 112.7, "a.jpg"), gps_photo(38.5, 112.8, "b.jpg"))
    assert warnings_of(record) == [photo_checks.NO_COORDINATES]


def test_the_phone_is_told_of_a_far_photo_of_its_visit(clerk, client):
    admin = make_user("gps_admin", "140902", role="county_admin")
    inspector = make_user("gps_inspector", "140902", role="field_inspector")
    round_ = rounds.create_round(kind="self", region_code="140902000000", year=2022, name="忻府区自查", user=admin)
    sample = round_.samples.select_related("household").first()
    set_point(sample.region_code, 38.40, 112.70)
    answers, photos = {}, {}
    for item in current_checklist(sample.household.heating_path, "self").items.all():
        if item.item_type == "yes_no":
            answers[item.code] = "是"
        elif item.item_type == "number":
            answers[item.code] = "19"
        elif item.item_type == "photo":
            photos[f"photo_{item.code}"] = gps_photo(38.40 + 500 / KM_PER_DEGREE_LAT, 112.70)
    client.force_login(inspector)
    sent = client.post("/api/inspections/visits", {"client_id": "gps-visit-1", "sample_id": sample.pk,
                                                    "answers": json.dumps(answers), **photos})
    assert sent.status_code == 201, sent.content
    notes = sent.json()["warnings"]
    assert any("拍摄位置距该村约" in n for n in notes), notes
    assert any("拍摄时间与检查时间相差超过24小时" in n for n in notes), notes   # taken 2022, sent now
    assert Visit.objects.filter(client_id="gps-visit-1").count() == 1


# ---- the coordinates sheet ------------------------------------------------------------------------

def sheet(rows, header=("区划代码", "名称", "经度", "纬度")) -> SimpleUploadedFile:
    book = openpyxl.Workbook()
    book.active.append(list(header))
    for row in rows:
        book.active.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return SimpleUploadedFile("村庄坐标.xlsx", out.getvalue())


def test_a_sheet_with_bad_rows_names_each_and_saves_nothing(client):
    admin = make_user("coord_admin", "140902", role="county_admin")
    villages = list(Region.objects.filter(level=4, code__startswith="140902").order_by("code")[:2])
    other = Region.objects.filter(level=4, code__startswith="140981").first()
    before = list(Region.objects.filter(code=villages[0].code).values_list("latitude", "longitude"))
    rows = [(villages[0].code, "好的一行", 112.1, 38.1),
            ("14090210020", "短代码", 112.1, 38.1),
            (villages[1].code, "经纬度填反", 38.4, 112.7),
            (other.code, "外县", 112.7, 38.7),
            (villages[0].code, "重复", 112.2, 38.2),
            ("140902999999", "不存在", 112.2, 38.2),
            (villages[1].code[:9] + "000", "乡镇", "东经112度", 38.2)]
    client.force_login(admin)
    response = client.post("/inspections/coordinates/", {"file": sheet(rows)})
    assert response.status_code == 422
    text = response.content.decode()
    for expected in ("第3行“区划代码”“14090210020”应为12位数字", "第4行“经度”38.4 超出范围", "第4行“纬度”112.7 超出范围",
                     f"第5行“区划代码”{other.code} 不在您的管辖范围内", f"第6行“区划代码”{villages[0].code} 与第2行重复",
                     "第7行“区划代码”140902999999 不是现行的", "第8行“经度”应为十进制度数"):
        assert expected in text, expected
    assert list(Region.objects.filter(code=villages[0].code).values_list("latitude", "longitude")) == before


def test_a_good_sheet_is_written_and_csv_and_the_command_work_too(client, tmp_path):
    admin = make_user("coord_admin2", "140902", role="county_admin")
    village = Region.objects.filter(level=4, code__startswith="140902").order_by("code").first()
    client.force_login(admin)
    upload = sheet([(village.code, village.name, 112.123456, 38.654321)])
    response = client.post("/inspections/coordinates/", {"file": upload}, follow=True)
    assert response.status_code == 200 and "已写入 1 个区划的坐标" in response.content.decode()
    village.refresh_from_db()
    assert (village.longitude, village.latitude) == (Decimal("112.123456"), Decimal("38.654321"))
    csv_file = tmp_path / "坐标.csv"
    csv_file.write_text(f"区划代码,经度,纬度\n{village.code},112.5,38.5\n", encoding="gb18030")
    call_command("load_coordinates", str(csv_file))
    village.refresh_from_db()
    assert village.longitude == Decimal("112.5")
    csv_file.write_text(f"区划代码,经度,纬度\n{village.code},112.6,95\n", encoding="utf-8")
    with pytest.raises(CommandError, match="第2行“纬度”95 超出范围"):
        call_command("load_coordinates", str(csv_file))
    village.refresh_from_db()
    assert village.latitude == Decimal("38.5")


def test_the_service_refuses_an_empty_sheet_and_a_missing_header():
    with pytest.raises(ValidationError, match="没有坐标行"):
        regions.import_coordinates([])
    with pytest.raises(ValidationError, match="未找到表头"):
        rows_of("a.csv", "代码,名称\n140902100201,奇村\n".encode())


def test_the_demo_villages_lie_near_their_county_seat():
    seat = Region.objects.get(code="140902000000")
    villages = Region.objects.filter(level=4, code__startswith="140902")
    assert seat.latitude is not None and not villages.filter(latitude__isnull=True).exists()
    farthest = max(haversine_km(float(v.latitude), float(v.longitude), float(seat.latitude), float(seat.longitude))
                   for v in villages)
    assert 5 < farthest <= 25.5


def test_a_village_moved_by_a_region_change_keeps_its_coordinates():
    admin = make_user("coord_city", "1409", role="city_admin")
    a, b = Region.objects.filter(level=3, code__startswith="140902").order_by("code")[:2]
    moved = Region.objects.filter(parent=b, level=4).order_by("code").first()
    change = regions.record_change(kind="merge", effective_on=date(2026, 1, 1), from_codes=[a.code, b.code],
                                   to_code=a.code, to_name=a.name, user=admin)
    services.apply_region_change(change, user=admin)
    successor = Region.objects.get(code=Region.all_objects.get(code=moved.code).successor_id)
    assert (successor.latitude, successor.longitude) == (moved.latitude, moved.longitude) != (None, None)


# ---- nearest first on the phone ---------------------------------------------------------------------

def test_the_field_list_is_nearest_first_with_the_phones_position(client):
    admin = make_user("near_admin", "140902", role="county_admin")
    inspector = make_user("near_inspector", "140902", role="field_inspector")
    round_ = rounds.create_round(kind="self", region_code="140902000000", year=2022, name="忻府区自查", user=admin)
    client.force_login(inspector)
    plain = client.get("/inspections/field/").content.decode()
    ids = [int(i) for i in re.findall(r'href="/inspections/field/(\d+)/"', plain)]
    assert len(ids) > 3 and "公里" not in plain and "按距离排序" in plain
    here = (38.30, 112.60)
    near = client.get("/inspections/field/", {"lat": here[0], "lon": here[1]}).content.decode()
    listed = [int(i) for i in re.findall(r'href="/inspections/field/(\d+)/"', near)]
    points = {r.code: (float(r.latitude), float(r.longitude)) for r in Region.objects.filter(level=4,
                                                                                          code__startswith="140902")}
    every = dict(open_samples(inspector).values_list("pk", "region_code"))
    assert len(every) > len(listed) == len(ids) == LISTED
    assert set(round_.samples.values_list("pk", flat=True)) <= set(every)
    km = [haversine_km(*here, *points[every[pk]]) for pk in listed]
    nearest = sorted(haversine_km(*here, *points[code]) for code in every.values())
    assert km == nearest[:LISTED] and listed != ids   # the nearest of all open samples, nearest first
    assert f"约 {km[0]:.1f} 公里" in near and "恢复原顺序" in near
    assert client.get("/inspections/field/", {"lat": "abc", "lon": "1"}).content.decode().count("公里") == 0


# ---- files in an object store -----------------------------------------------------------------------

def test_the_s3_variables_switch_the_file_storages_to_a_private_bucket():
    local = build_storages({})
    assert "evidence" not in local and local["default"]["BACKEND"].endswith("FileSystemStorage")
    s3 = build_storages({"CLEANHEAT_S3_BUCKET": "cleanheat-evidence", "CLEANHEAT_S3_ENDPOINT_URL": ENDPOINT,
                         "CLEANHEAT_S3_ACCESS_KEY_ID": "AK", "CLEANHEAT_S3_SECRET_ACCESS_KEY": "SK"})
    for name in ("evidence", "default"):
        assert s3[name]["BACKEND"] == S3_BACKEND == "storages.backends.s3.S3Storage"
        options = s3[name]["OPTIONS"]
        assert options["bucket_name"] == "cleanheat-evidence" and options["endpoint_url"] == ENDPOINT
        assert (options["access_key"], options["secret_key"]) == ("AK", "SK")
        assert options["default_acl"] == "private" and options["querystring_auth"] and options["custom_domain"] is None
    assert s3["evidence"]["OPTIONS"]["location"] == "evidence"
    # the backend builds: its URLs are signed (never a public link), nothing is contacted
    url = S3Storage(**s3["evidence"]["OPTIONS"]).url("140902/a.jpg")
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=300" in url

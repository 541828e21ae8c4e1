import pytest
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.test import override_settings

from cleanheat.demo.loader import load_demo, read_config

# Small but complete: every county, township and village of the demo, ~1,000 households.
TEST_SCALE = 0.005
PASSWORD = "Test-Passw0rd!"


def _local_caches():
    return {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
            "figures": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "figures"}}


@pytest.fixture(scope="session", autouse=True)
def _session_files(tmp_path_factory):
    """Before any test, and while the demo loads into the test database: files and caches of this
    test process only (pytest-xdist runs several; each has its own database and must not share
    the data/ folder's file caches, whose figures are keyed by that database's tokens)."""
    root = tmp_path_factory.mktemp("session-data")
    with override_settings(DATA_DIR=root, MEDIA_ROOT=root / "media", CACHES=_local_caches()):
        yield root


@pytest.fixture(autouse=True)
def _isolated_files(settings, tmp_path):
    """Uploads, reports, exports and notices' attachments go to a per-test folder; jobs run inline."""
    settings.DATA_DIR = tmp_path
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CLEANHEAT_TASKS_SYNC = True
    settings.CACHES = _local_caches()
    caches["default"].clear()  # locmem keeps its data across tests of one process: progress,
    caches["figures"].clear()  # rate counters, heartbeats and figures start afresh in each test


@pytest.fixture(scope="session")
def demo_cfg():
    return read_config()


@pytest.fixture(scope="session")
def django_db_setup(_session_files, django_db_setup, django_db_blocker, demo_cfg):
    with django_db_blocker.unblock():
        load_demo(demo_cfg, scale=TEST_SCALE)


def make_user(username, scope, role="county_clerk", must_change_password=False, **extra):
    User = get_user_model()
    return User.objects.create_user(username=username, password=PASSWORD, region_scope=scope, role=role,
                                    full_name=username, must_change_password=must_change_password, **extra)


@pytest.fixture
def city_admin(db):
    return make_user("t_city", "1409", role="city_admin")


@pytest.fixture
def county_clerk(db):
    return make_user("t_xinfu", "140902", role="county_clerk")


@pytest.fixture
def admin_client(client, city_admin):
    client.force_login(city_admin)
    return client

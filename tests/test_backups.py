"""Issue #20 part 4: `manage.py backup` / `restore` — a restored database answers the same rollup and
the same decrypted ID number; a backup made under another PII key, or tampered with, is refused and
nothing is overwritten. SQLite here (the test database is in memory, so it is copied into a file that
real `manage.py` processes then work on); PostgreSQL when DATABASE_URL points at one."""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from cleanheat import backups

ROOT = Path(__file__).resolve().parent.parent
PROBE = ("import json; from cleanheat import pii; from cleanheat.ledger.models import Household; "
         "from cleanheat.ledger.rollup import region_rollup; from cleanheat.regions.models import Region; "
         "h = Household.objects.order_by('pk').first(); "
         "print(json.dumps({'rollup': region_rollup(Region.objects.get(code='140900000000'))['node'], "
         "'households': Household.objects.count(), 'id': pii.decrypt(h.id_number_cipher) if h else None}))")


def manage(tmp_path, url, *args, pii_key=None, check=True):
    run = len(list(tmp_path.glob("data-*")))
    env = {**os.environ, "DATABASE_URL": url, "CLEANHEAT_PII_KEY": pii_key or settings.PII_KEY,
           "CLEANHEAT_DATA_DIR": str(tmp_path / f"data-{run}")}  # each run its own figures cache
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    if check:
        assert done.returncode == 0, done.stderr
    return done


def probe(tmp_path, url):
    return json.loads(manage(tmp_path, url, "shell", "-c", PROBE).stdout.strip().splitlines()[-1])


@pytest.fixture
def sqlite_file(db, tmp_path):
    """The demo test database (in memory) written into a file, which real `manage.py` processes then use."""
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite round trip needs the SQLite test database")
    path = tmp_path / "live.sqlite3"
    connection.ensure_connection()
    path.write_bytes(connection.connection.serialize())
    return path


def test_sqlite_backup_restore_round_trip(tmp_path, sqlite_file):
    url = f"sqlite:///{sqlite_file}"
    before = probe(tmp_path, url)
    assert before["households"] > 500 and before["rollup"]["total"] > 0 and len(before["id"]) == 18

    done = manage(tmp_path, url, "backup", str(tmp_path / "a.chbak"))
    assert "备份完成" in done.stdout
    raw = (tmp_path / "a.chbak").read_bytes()
    assert before["id"].encode() not in raw and b"SQLite format 3" not in raw  # the dump is encrypted
    assert settings.PII_KEY.encode() not in raw
    header = json.loads(raw.split(b"\n")[1])
    assert header["vendor"] == "sqlite" and header["format"] == 1

    db = sqlite3.connect(sqlite_file)  # the data changes after the backup: households go, one ID is replaced
    first = db.execute("SELECT id FROM ledger_household ORDER BY id LIMIT 1").fetchone()[0]
    db.execute("UPDATE ledger_household SET id_number_cipher = ? WHERE id = ?", (raw_cipher(), first))
    db.execute("DELETE FROM ledger_lifecycleevent WHERE household_id IN "
               "(SELECT id FROM ledger_household WHERE id % 3 = 0)")
    db.execute("UPDATE ledger_household SET archived = 1 WHERE id % 3 = 0")
    db.commit()
    db.close()
    changed = probe(tmp_path, url)
    assert changed["rollup"]["total"] < before["rollup"]["total"] and changed["id"] != before["id"]

    done = manage(tmp_path, url, "restore", str(tmp_path / "a.chbak"))
    assert "恢复完成" in done.stdout and "密钥指纹相符" in done.stdout
    assert probe(tmp_path, url) == before


def raw_cipher():
    from cleanheat import pii
    return pii.encrypt("110101199001011234")


def test_restore_under_another_pii_key_is_refused_and_nothing_changes(tmp_path, sqlite_file):
    url = f"sqlite:///{sqlite_file}"
    manage(tmp_path, url, "backup", str(tmp_path / "a.chbak"), pii_key="another-installation-key")
    before_bytes = sqlite_file.read_bytes()
    done = manage(tmp_path, url, "restore", str(tmp_path / "a.chbak"), check=False)
    assert done.returncode != 0
    assert "拒绝恢复" in done.stderr and "另一个个人信息密钥" in done.stderr and "未作任何改动" in done.stderr
    assert sqlite_file.read_bytes() == before_bytes


def test_tampered_or_truncated_backup_is_refused(tmp_path):
    plain = tmp_path / "plain"
    plain.write_bytes(os.urandom(backups.CHUNK * 2 + 123))
    sealed = tmp_path / "sealed"
    backups.encrypt_file(plain, sealed, pii_key="k", vendor="sqlite")
    backups.decrypt_file(sealed, tmp_path / "back", pii_key="k")
    assert (tmp_path / "back").read_bytes() == plain.read_bytes()

    data = sealed.read_bytes()
    cut = tmp_path / "cut"
    cut.write_bytes(data[:-(backups.CHUNK // 2)])
    with pytest.raises(backups.BackupError, match="截断|校验失败"):
        backups.decrypt_file(cut, tmp_path / "x", pii_key="k")
    flipped = bytearray(data)
    flipped[-10] ^= 1
    (tmp_path / "flipped").write_bytes(flipped)
    with pytest.raises(backups.BackupError, match="第 3 段校验失败"):
        backups.decrypt_file(tmp_path / "flipped", tmp_path / "x", pii_key="k")
    relabelled = data.replace(b'"vendor": "sqlite"', b'"vendor": "sqlitx"')
    (tmp_path / "relabelled").write_bytes(relabelled)
    with pytest.raises(backups.BackupError, match="第 1 段校验失败"):
        backups.decrypt_file(tmp_path / "relabelled", tmp_path / "x", pii_key="k")
    with pytest.raises(backups.BackupError, match="另一个个人信息密钥"):
        backups.check(sealed, pii_key="other", vendor="sqlite")
    with pytest.raises(backups.BackupError, match="备份来自 sqlite 数据库"):
        backups.check(sealed, pii_key="k", vendor="postgresql")
    (tmp_path / "junk").write_bytes(b"hello")
    with pytest.raises(backups.BackupError, match="不是清洁取暖平台的备份文件"):
        backups.read_header(tmp_path / "junk")


@pytest.fixture
def pg_url(db, tmp_path):
    """A copy of the PostgreSQL test database (pg_dump / pg_restore) that real `manage.py` processes use."""
    if connection.vendor != "postgresql":
        pytest.skip("the PostgreSQL round trip runs when DATABASE_URL points at PostgreSQL")
    if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.skip("pg_dump / pg_restore are not installed (postgresql-client)")
    db_settings = dict(connection.settings_dict)
    name = f"{db_settings['NAME']}_bk"[:60]
    import psycopg  # only here: the driver of PostgreSQL runs; CREATE DATABASE needs a connection outside the test's transaction
    admin = psycopg.connect(host=db_settings["HOST"], port=db_settings["PORT"] or 5432, user=db_settings["USER"],
                            password=db_settings["PASSWORD"] or None, dbname="postgres", autocommit=True)
    admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.execute(f'CREATE DATABASE "{name}"')
    backups.dump(db_settings, tmp_path / "seed")
    backups.load({**db_settings, "NAME": name}, tmp_path / "seed")
    user = db_settings["USER"] + (f":{db_settings['PASSWORD']}" if db_settings["PASSWORD"] else "")
    yield f"postgres://{user}@{db_settings['HOST']}:{db_settings['PORT'] or 5432}/{name}"
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def test_postgresql_backup_restore_round_trip(tmp_path, pg_url):
    before = probe(tmp_path, pg_url)
    assert before["households"] > 500 and len(before["id"]) == 18
    manage(tmp_path, pg_url, "backup", str(tmp_path / "a.chbak"))
    assert json.loads((tmp_path / "a.chbak").read_bytes().split(b"\n")[1])["vendor"] == "postgresql"
    manage(tmp_path, pg_url, "shell", "-c", "from django.db import connection; c = connection.cursor(); "
           "c.execute('UPDATE ledger_household SET archived = true WHERE id % 3 = 0')")
    assert probe(tmp_path, pg_url)["rollup"]["total"] < before["rollup"]["total"]
    done = manage(tmp_path, pg_url, "restore", str(tmp_path / "a.chbak"))
    assert "恢复完成" in done.stdout
    assert probe(tmp_path, pg_url) == before

    manage(tmp_path, pg_url, "backup", str(tmp_path / "b.chbak"), pii_key="another-installation-key")
    done = manage(tmp_path, pg_url, "restore", str(tmp_path / "b.chbak"), check=False)
    assert done.returncode != 0 and "另一个个人信息密钥" in done.stderr
    assert probe(tmp_path, pg_url) == before

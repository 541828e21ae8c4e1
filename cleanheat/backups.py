"""Backups that restore: the whole database in one encrypted file (`manage.py backup` / `restore`).

SQLite is copied with sqlite3's online backup API (readers and writers may go on meanwhile);
PostgreSQL with `pg_dump -Fc` and put back with `pg_restore --clean --if-exists --single-transaction`.

The file is a header line and a JSON line (format version, database vendor, created at, a random
salt and a fingerprint of the PII key: an HMAC of a constant, never the key), then the dump in
1 MiB chunks sealed with AES-256-GCM under a key derived from the PII key and the salt; each
chunk's associated data binds the header, the chunk's number and whether it is the last, so a
changed header, reordered chunks or a cut-off file fail to decrypt. The PII key itself is kept
apart from the dump (in the environment): the ID numbers inside the dump are encrypted with it too,
so a dump is only useful together with the key it was made with, and a restore under another key
is refused before anything is written.
"""
import hashlib
import hmac
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"CLEANHEAT-BACKUP\n"
FORMAT = 1
CHUNK = 1 << 20


class BackupError(Exception):
    """A backup cannot be made or restored; the message is for the operator (Chinese)."""


def _master(pii_key: str) -> bytes:
    return hashlib.sha256(pii_key.encode()).digest()


def key_fingerprint(pii_key: str) -> str:
    return hmac.new(_master(pii_key), b"cleanheat-backup-key-fingerprint", hashlib.sha256).hexdigest()[:32]


def _file_key(pii_key: str, salt: bytes) -> bytes:
    return hmac.new(_master(pii_key), b"cleanheat-backup-encryption:" + salt, hashlib.sha256).digest()


def vendor_of(db: dict) -> str:
    engine = db["ENGINE"]
    if "sqlite" in engine:
        return "sqlite"
    if "postgres" in engine:
        return "postgresql"
    raise BackupError(f"不支持的数据库类型：{engine}")


def _nonce(i: int) -> bytes:
    return b"\0\0\0\0" + i.to_bytes(8, "big")


def _aad(header: bytes, i: int, last: bool) -> bytes:
    return header + i.to_bytes(8, "big") + (b"\1" if last else b"\0")


def encrypt_file(src: Path, dst: Path, *, pii_key: str, vendor: str) -> dict:
    salt = os.urandom(16)
    meta = {"format": FORMAT, "vendor": vendor, "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "key_fingerprint": key_fingerprint(pii_key), "salt": salt.hex()}
    header = json.dumps(meta, sort_keys=True).encode()
    seal = AESGCM(_file_key(pii_key, salt)).encrypt
    size = src.stat().st_size
    with open(src, "rb") as fin, open(dst, "wb") as out:
        out.write(MAGIC + header + b"\n")
        i, done = 0, 0
        while True:
            chunk = fin.read(CHUNK)
            done += len(chunk)
            last = done >= size
            sealed = seal(_nonce(i), chunk, _aad(header, i, last))
            out.write(len(sealed).to_bytes(4, "big") + sealed)
            i += 1
            if last:
                break
    return meta


def read_header(path: Path) -> tuple[dict, bytes]:
    with open(path, "rb") as f:
        if f.read(len(MAGIC)) != MAGIC:
            raise BackupError(f"{path} 不是清洁取暖平台的备份文件")
        header = f.readline().rstrip(b"\n")
    try:
        meta = json.loads(header)
    except ValueError:
        raise BackupError(f"{path} 的文件头已损坏") from None
    if meta.get("format") != FORMAT:
        raise BackupError(f"备份文件格式版本 {meta.get('format')} 不受支持（本程序为 {FORMAT}）")
    return meta, header


def check(path: Path, *, pii_key: str, vendor: str) -> dict:
    """The header's promises against this installation: the same PII key and the same database vendor."""
    meta, _ = read_header(path)
    if not hmac.compare_digest(meta.get("key_fingerprint", ""), key_fingerprint(pii_key)):
        raise BackupError("拒绝恢复：该备份是用另一个个人信息密钥（CLEANHEAT_PII_KEY）制作的，"
                          "恢复后身份证号、电话将无法解密。请使用制作备份时的密钥。数据库未作任何改动。")
    if meta.get("vendor") != vendor:
        raise BackupError(f"拒绝恢复：备份来自 {meta.get('vendor')} 数据库，当前配置的是 {vendor} 数据库。"
                          "数据库未作任何改动。")
    return meta


def decrypt_file(src: Path, dst: Path, *, pii_key: str) -> dict:
    meta, header = read_header(src)
    open_ = AESGCM(_file_key(pii_key, bytes.fromhex(meta["salt"]))).decrypt
    with open(src, "rb") as fin, open(dst, "wb") as out:
        fin.seek(len(MAGIC) + len(header) + 1)
        i = 0
        while True:
            length = fin.read(4)
            if len(length) < 4:
                raise BackupError("备份文件不完整（被截断），数据库未作任何改动")
            sealed = fin.read(int.from_bytes(length, "big"))
            try:
                try:
                    chunk, last = open_(_nonce(i), sealed, _aad(header, i, False)), False
                except InvalidTag:
                    chunk, last = open_(_nonce(i), sealed, _aad(header, i, True)), True
            except InvalidTag:
                raise BackupError(f"备份文件第 {i + 1} 段校验失败（文件被改动或已损坏），数据库未作任何改动") from None
            out.write(chunk)
            i += 1
            if last:
                break
        if fin.read(1):
            raise BackupError("备份文件末尾有多余内容（文件被改动），数据库未作任何改动")
    return meta


def _pg_args(db: dict) -> tuple[list[str], dict]:
    args = []
    if db.get("HOST"):
        args += ["-h", str(db["HOST"])]
    if db.get("PORT"):
        args += ["-p", str(db["PORT"])]
    if db.get("USER"):
        args += ["-U", str(db["USER"])]
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return args, env


def _run(cmd: list[str], env: dict) -> None:
    if shutil.which(cmd[0]) is None:
        raise BackupError(f"找不到 {cmd[0]}：请安装 PostgreSQL 客户端工具（postgresql-client）")
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise BackupError(f"{cmd[0]} 失败（退出码 {done.returncode}）：{done.stderr.strip()[-2000:]}")


def dump(db: dict, path: Path) -> None:
    """The database's contents into a plain file: an SQLite database file or a pg_dump custom-format archive."""
    if vendor_of(db) == "sqlite":
        src, dst = sqlite3.connect(db["NAME"]), sqlite3.connect(path)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
    else:
        args, env = _pg_args(db)
        _run(["pg_dump", "-Fc", "--no-owner", *args, "-f", str(path), db["NAME"]], env)


def load(db: dict, path: Path) -> None:
    """A plain dump back into the configured database, replacing its contents."""
    if vendor_of(db) == "sqlite":
        src = sqlite3.connect(path)
        try:
            if src.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise BackupError("备份中的 SQLite 数据库未通过完整性检查，数据库未作任何改动")
            dst = sqlite3.connect(db["NAME"], timeout=20)
            try:
                src.backup(dst)
            finally:
                dst.close()
        finally:
            src.close()
    else:
        args, env = _pg_args(db)
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error",
              *args, "-d", db["NAME"], str(path)], env)


def backup(db: dict, out: Path, *, pii_key: str, progress=lambda line: None) -> dict:
    vendor = vendor_of(db)
    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="cleanheat-backup-") as tmp:
        plain = Path(tmp) / "dump"
        progress(f"正在导出 {vendor} 数据库 …")
        dump(db, plain)
        progress(f"已导出 {plain.stat().st_size:,} 字节，正在加密 …")
        partial = out.with_name(out.name + ".partial")
        meta = encrypt_file(plain, partial, pii_key=pii_key, vendor=vendor)
        os.replace(partial, out)  # a half-written file never carries the backup's name
    progress(f"备份完成：{out}（{out.stat().st_size:,} 字节）")
    return meta


def restore(db: dict, src: Path, *, pii_key: str, progress=lambda line: None) -> dict:
    vendor = vendor_of(db)
    src = Path(src)
    meta = check(src, pii_key=pii_key, vendor=vendor)
    progress(f"备份制作于 {meta['created_at']}，密钥指纹相符，正在解密 …")
    with tempfile.TemporaryDirectory(prefix="cleanheat-restore-") as tmp:
        plain = Path(tmp) / "dump"
        decrypt_file(src, plain, pii_key=pii_key)
        progress(f"已解密 {plain.stat().st_size:,} 字节，正在恢复到数据库 …")
        load(db, plain)
    progress("恢复完成")
    return meta

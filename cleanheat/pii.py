"""Encryption at rest and keyed hashing for personal identifiers (ID numbers, phones).

AES-256-GCM with a random nonce keeps the value unreadable in a database dump; an HMAC-SHA256
"blind index" supports exact-match search and uniqueness without decrypting anything.
Both keys derive from settings.PII_KEY, so rotating the key is an explicit migration.
"""
import base64
import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings


@lru_cache(maxsize=4)
def _keys(secret: str) -> tuple[bytes, bytes]:
    master = hashlib.sha256(secret.encode()).digest()
    enc = hmac.new(master, b"cleanheat-pii-encryption", hashlib.sha256).digest()
    idx = hmac.new(master, b"cleanheat-pii-blind-index", hashlib.sha256).digest()
    return enc, idx


def encrypt(plaintext: str) -> str:
    if not plaintext:
        return ""
    key, _ = _keys(settings.PII_KEY)
    nonce = os.urandom(12)
    return base64.b64encode(nonce + AESGCM(key).encrypt(nonce, plaintext.encode(), None)).decode()


def decrypt(token: str) -> str:
    if not token:
        return ""
    key, _ = _keys(settings.PII_KEY)
    raw = base64.b64decode(token)
    return AESGCM(key).decrypt(raw[:12], raw[12:], None).decode()


def blind_index(value: str, kind: str) -> str:
    """Deterministic keyed hash; `kind` keeps an ID number and a phone from ever colliding."""
    if not value:
        return ""
    _, key = _keys(settings.PII_KEY)
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def blind_index_many(values, kind: str) -> list[str]:
    """blind_index of each value (an import's whole column at once). The same HMAC-SHA256
    (RFC 2104), with the padded key hashed once and copied per value: about twice as fast."""
    _, key = _keys(settings.PII_KEY)
    inner_copy, outer_copy = _hmac_states(key)
    prefix = f"{kind}:"
    out = []
    for value in values:
        if value:
            inner = inner_copy()
            inner.update((prefix + value).encode())
            outer = outer_copy()
            outer.update(inner.digest())
            out.append(outer.hexdigest())
        else:
            out.append("")
    return out


@lru_cache(maxsize=4)
def _hmac_states(key: bytes):
    block = key.ljust(64, b"\0")  # the key is a 32-byte digest: shorter than SHA-256's block
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))
    return inner.copy, outer.copy


def encrypt_many(values) -> list[str]:
    """encrypt of each value, with one cipher object and one call for all the nonces."""
    key, _ = _keys(settings.PII_KEY)
    seal, b64 = AESGCM(key).encrypt, base64.b64encode
    nonces = os.urandom(12 * len(values))
    out = []
    for i, value in enumerate(values):
        if value:
            nonce = nonces[12 * i:12 * i + 12]
            out.append(b64(nonce + seal(nonce, value.encode(), None)).decode())
        else:
            out.append("")
    return out


def decrypt_many(tokens) -> list[str]:
    """decrypt of each token (a bank file's column), with one cipher object for all."""
    key, _ = _keys(settings.PII_KEY)
    open_, b64 = AESGCM(key).decrypt, base64.b64decode
    out = []
    for token in tokens:
        if token:
            raw = b64(token)
            out.append(open_(raw[:12], raw[12:], None).decode())
        else:
            out.append("")
    return out

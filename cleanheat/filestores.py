"""Where uploaded files are kept: settings.STORAGES built from the environment (no Django imports,
so settings.py can call it and a test can call it with a made-up environment).

Local files under DATA_DIR by default. With CLEANHEAT_S3_BUCKET set, the evidence photos and scans
(inspections) and Django's default storage go to an S3-compatible object store (MinIO, Aliyun OSS,
AWS S3) through django-storages (storages.backends.s3.S3Storage). The bucket stays private: objects
are written with the "private" ACL, no custom (public) domain is set, and any URL the backend makes
is signed and short-lived. The application never hands those URLs out: files are read back through
the storage API and served only by views that check the user's scope (inspections.views.evidence_file).

Environment:
  CLEANHEAT_S3_BUCKET               bucket name (switches S3 on)
  CLEANHEAT_S3_ENDPOINT_URL         e.g. https://minio.example.cn:9000 or https://oss-cn-beijing.aliyuncs.com
  CLEANHEAT_S3_ACCESS_KEY_ID, CLEANHEAT_S3_SECRET_ACCESS_KEY   keys (else boto3's own chain: env, role)
  CLEANHEAT_S3_REGION               region name (optional)
  CLEANHEAT_S3_ADDRESSING_STYLE     "path" for MinIO (default), "virtual" for OSS / AWS
  CLEANHEAT_S3_PREFIX               a folder inside the bucket (optional)
"""
S3_BACKEND = "storages.backends.s3.S3Storage"
LOCAL_BACKEND = "django.core.files.storage.FileSystemStorage"
STATIC_BACKEND = "django.contrib.staticfiles.storage.StaticFilesStorage"
SIGNED_URL_SECONDS = 300  # only ever used inside the server; short in case one leaks into a log


def build_storages(env) -> dict:
    """settings.STORAGES for this environment (`env`: a mapping such as os.environ)."""
    bucket = (env.get("CLEANHEAT_S3_BUCKET") or "").strip()
    if not bucket:  # no "evidence" entry: inspections.files keeps them under DATA_DIR/evidence, read
        # at each use (so a changed DATA_DIR, as in the tests, is followed); "default" follows MEDIA_ROOT
        return {"default": {"BACKEND": LOCAL_BACKEND}, "staticfiles": {"BACKEND": STATIC_BACKEND}}
    prefix = (env.get("CLEANHEAT_S3_PREFIX") or "").strip().strip("/")
    return {
        "default": {"BACKEND": S3_BACKEND, "OPTIONS": _s3_options(env, bucket, _join(prefix, "media"))},
        "evidence": {"BACKEND": S3_BACKEND, "OPTIONS": _s3_options(env, bucket, _join(prefix, "evidence"))},
        "staticfiles": {"BACKEND": STATIC_BACKEND},  # static files stay with whitenoise
    }


def _join(prefix: str, folder: str) -> str:
    return f"{prefix}/{folder}" if prefix else folder


def _s3_options(env, bucket: str, location: str) -> dict:
    options = {
        "bucket_name": bucket,
        "location": location,
        "default_acl": "private",
        "querystring_auth": True,           # never an unsigned (public) URL
        "querystring_expire": SIGNED_URL_SECONDS,
        "custom_domain": None,
        "file_overwrite": False,            # two uploads of one name both kept
        "signature_version": "s3v4",
        "addressing_style": env.get("CLEANHEAT_S3_ADDRESSING_STYLE") or "path",
    }
    for option, name in (("endpoint_url", "CLEANHEAT_S3_ENDPOINT_URL"), ("access_key", "CLEANHEAT_S3_ACCESS_KEY_ID"),
                         ("secret_key", "CLEANHEAT_S3_SECRET_ACCESS_KEY"), ("region_name", "CLEANHEAT_S3_REGION")):
        if env.get(name):
            options[option] = env[name]
    return options

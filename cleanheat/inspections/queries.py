"""Inspection rows in the user's scope (every read goes through `access.scope_filter`)."""
from django.http import Http404

from cleanheat.access import scope_filter

from .models import AcceptanceRecord, EvidenceFile


def acceptance_records(user):
    return scope_filter(AcceptanceRecord.objects.all(), user, "region_code")


def acceptance_record(user, number: str) -> AcceptanceRecord:
    found = acceptance_records(user).select_related("household", "checklist", "signature").filter(number=number).first()
    if found is None:
        raise Http404("未找到")
    return found


def evidence_file(user, file_id) -> EvidenceFile:
    found = scope_filter(EvidenceFile.objects.all(), user, "region_code").filter(pk=file_id).first() \
        if str(file_id).isdigit() else None
    if found is None:
        raise Http404("未找到")
    return found

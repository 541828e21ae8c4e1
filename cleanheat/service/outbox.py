"""The SMS outbox (短信发件箱): messages are queued in the database with the ticket's transaction and sent
later by `manage.py send_sms` through a pluggable backend (settings.CLEANHEAT_SMS_BACKEND):

- "console": write to the log (the demo);
- "file": append one JSON line per message to DATA_DIR/sms/outbox.jsonl (the demo, tests);
- "http": POST JSON {to, text, id} to CLEANHEAT_SMS_URL with a bearer CLEANHEAT_SMS_TOKEN (a real gateway).

Every message is kept with its status. `dedupe_key` is unique, so one notice is queued once; a message is
claimed (queued → sending) in its own short transaction before the backend is called, so two senders never
send it twice. A failure is retried with exponential backoff (1, 2, 4 … minutes, at most
CLEANHEAT_SMS_MAX_ATTEMPTS tries); the texts are templates in the database (data)."""
import json
import logging
import urllib.request
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from cleanheat import pii

from .models import RepairTeam, SmsMessage, SmsTemplate, Ticket

log = logging.getLogger("cleanheat.sms")


class SafeDict(dict):
    def __missing__(self, key):
        return ""


def render(key: str, values: dict) -> str | None:
    template = SmsTemplate.objects.filter(key=key).values_list("text", flat=True).first()
    return template.format_map(SafeDict(values))[:400] if template else None


def queue(*, key: str, dedupe: str, phone_cipher: str, masked: str, region_code: str, values: dict,
          ticket: Ticket | None = None, now=None) -> SmsMessage | None:
    """One message, once: a second call with the same dedupe key queues nothing."""
    if not phone_cipher:
        return None
    body = render(key, values)
    if body is None:
        return None
    try:
        with transaction.atomic():
            return SmsMessage.objects.create(dedupe_key=dedupe[:80], ticket=ticket, region_code=region_code,
                                             to_cipher=phone_cipher, to_masked=masked, template=key, body=body,
                                             next_attempt_at=now or timezone.now())
    except IntegrityError:
        return None


def _family_phone(ticket: Ticket) -> tuple[str, str]:
    if ticket.household_id and ticket.household.phone_cipher:
        return ticket.household.phone_cipher, ticket.household.phone_masked
    return ticket.caller_phone_cipher, ticket.caller_phone_masked


def _values(ticket: Ticket, **extra) -> dict:
    return {"number": ticket.number, "team": str(ticket.team or "县级清洁取暖办"),
            "team_phone": getattr(ticket.team, "phone", ""), "category": ticket.get_category_display(),
            "village": ticket.village_code, "due_respond": f"{timezone.localtime(ticket.due_respond):%m-%d %H:%M}",
            **extra}


def _to_family(ticket: Ticket, key: str, now, **extra) -> None:
    cipher, masked = _family_phone(ticket)
    queue(key=key, dedupe=f"t{ticket.pk}:{key}:{ticket.reopened}", phone_cipher=cipher, masked=masked,
          region_code=ticket.village_code, values=_values(ticket, **extra), ticket=ticket, now=now)


def _to_team(ticket: Ticket, key: str, now, **extra) -> None:
    if ticket.team is None or not ticket.team.phone:
        return
    queue(key=key, dedupe=f"t{ticket.pk}:{key}:{ticket.reopened}:{extra.get('stage', '')}",
          phone_cipher=pii.encrypt(ticket.team.phone),
          masked=ticket.team.phone[:3] + "****" + ticket.team.phone[-4:], region_code=ticket.village_code,
          values=_values(ticket, **extra), ticket=ticket, now=now)


def ticket_opened(ticket: Ticket) -> None:
    _to_family(ticket, "opened", ticket.opened_at)
    _to_team(ticket, "team_new", ticket.opened_at)


def on_the_way(ticket: Ticket, engineer) -> None:
    _to_family(ticket, "on_the_way", ticket.responded_at, engineer=str(engineer))


def resolved(ticket: Ticket) -> None:
    _to_family(ticket, "resolved", ticket.resolved_at)


def at_risk(ticket_ids: list[int], now) -> None:
    for ticket in Ticket.objects.filter(pk__in=ticket_ids).order_by().select_related("team"):
        stage = next((label for label, due, done in (("响应", ticket.due_respond, ticket.responded_at),
                                                     ("到场", ticket.due_onsite, ticket.arrived_at),
                                                     ("修复", ticket.due_fix, ticket.resolved_at)) if done is None),
                     "修复")
        due = {"响应": ticket.due_respond, "到场": ticket.due_onsite}.get(stage, ticket.due_fix)
        _to_team(ticket, "team_at_risk", now, stage=stage, due=f"{timezone.localtime(due):%m-%d %H:%M}")


def escalated(pairs: list[tuple[int, int]], now) -> None:
    """An SMS to the office a breached ticket escalates to: the county office's team (level 1), the city
    office's (level 2), each once per level."""
    offices = {t.region_code: t for t in RepairTeam.objects.filter(organisation__kind__in=["county_gov", "city_office"])
               .exclude(phone="")}
    for ticket in Ticket.objects.filter(pk__in=[pk for pk, _ in pairs]).order_by():
        level = dict(pairs)[ticket.pk]
        office = offices.get(ticket.village_code[:6] if level == 1 else ticket.village_code[:4])
        if office is None:
            continue
        queue(key="escalated", dedupe=f"t{ticket.pk}:escalated:{ticket.reopened}:{level}",
              phone_cipher=pii.encrypt(office.phone), masked=office.phone[:3] + "****" + office.phone[-4:],
              region_code=ticket.village_code, ticket=ticket, now=now,
              values=_values(ticket, office=str(office), team=str(ticket.team or "")))


# ---- sending ------------------------------------------------------------------------------------

class SendError(Exception):
    pass


def _console(message: SmsMessage, phone: str) -> None:
    log.info("SMS to %s: %s", message.to_masked, message.body)


def _file(message: SmsMessage, phone: str) -> None:
    folder = Path(settings.DATA_DIR) / "sms"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "outbox.jsonl", "a", encoding="utf-8") as out:
        out.write(json.dumps({"id": message.pk, "to": message.to_masked, "text": message.body},
                             ensure_ascii=False) + "\n")


def _http(message: SmsMessage, phone: str) -> None:
    url = getattr(settings, "CLEANHEAT_SMS_URL", "")
    if not url:
        raise SendError("未配置短信网关地址 CLEANHEAT_SMS_URL")
    request = urllib.request.Request(url, data=json.dumps({"to": phone, "text": message.body, "id": message.pk})
                                     .encode(), headers={"Content-Type": "application/json",
                                                         "Authorization": f"Bearer {settings.CLEANHEAT_SMS_TOKEN}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            if response.status >= 300:
                raise SendError(f"短信网关答复 {response.status}")
    except OSError as exc:
        raise SendError(f"短信网关不可用：{type(exc).__name__}") from None


BACKENDS = {"console": _console, "file": _file, "http": _http}


def backoff(attempts: int) -> timedelta:
    return timedelta(minutes=2 ** max(attempts - 1, 0))


def _claim(now) -> SmsMessage | None:
    """Take one due message (queued → sending) so no other sender takes it too."""
    with transaction.atomic():
        message = SmsMessage.objects.select_for_update(skip_locked=True) \
            .filter(status="queued", next_attempt_at__lte=now).order_by("next_attempt_at", "pk").first()
        if message is None:
            return None
        claimed = SmsMessage.objects.filter(pk=message.pk, status="queued").update(status="sending")
        return message if claimed else None


def send_due(now=None, backend: str | None = None, limit: int = 500) -> dict:
    """Send the due messages once each; failures wait (backoff) or fail for good after the last try."""
    now = now or timezone.now()
    send = BACKENDS[backend or settings.CLEANHEAT_SMS_BACKEND]
    sent = failed = retried = 0
    for _ in range(limit):
        message = _claim(now)
        if message is None:
            break
        message.attempts += 1
        try:
            send(message, pii.decrypt(message.to_cipher))
        except SendError as exc:
            message.last_error = str(exc)[:200]
            if message.attempts >= settings.CLEANHEAT_SMS_MAX_ATTEMPTS:
                message.status, failed = "failed", failed + 1
            else:
                message.status, message.next_attempt_at, retried = "queued", now + backoff(message.attempts), retried + 1
        else:
            message.status, message.sent_at, message.last_error, sent = "sent", now, "", sent + 1
        message.save(update_fields=["status", "attempts", "next_attempt_at", "sent_at", "last_error"])
    return {"sent": sent, "retried": retried, "failed": failed}

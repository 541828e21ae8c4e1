"""A logging filter that masks resident ID numbers, bank cards and mobiles in every log line.

settings.LOGGING puts it on the request, access, application and root loggers and on every
handler, so a number in a URL, a message argument or an exception never reaches a log in full.
The record is changed in place, so every later handler (and a test's capture) sees the mask.
"""
import logging

from cleanheat.ledger.identity import mask_identifiers


class MaskIdentifiers(logging.Filter):
    def filter(self, record):
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: leave it for the handler to report
            return True
        masked = mask_identifiers(message)
        if masked != message:
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_identifiers(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_identifiers(record.stack_info)
        return True

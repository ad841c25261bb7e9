"""User-facing error texts: one table of stable codes, their HTTP statuses and translated messages.

The JSON API answers with these codes and messages; the citizens' pages show the same messages
where they refuse the same input, so a rule is explained in one wording.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

# code -> (HTTP status, message). Messages are English msgids with German translations.
ERRORS: dict[str, tuple[int, Any]] = {
    "invalid_json": (400, _l("The request body is not valid JSON.")),
    "invalid_body": (400, _l("The request body must be a JSON object.")),
    "missing_field": (422, _l("The field “%(field)s” is required.")),
    "unknown_field": (422, _l("The field “%(field)s” is not allowed here.")),
    "invalid_field": (422, _l("The field “%(field)s” has an invalid value.")),
    "invalid_name": (  # hub.booking.names; the booking page says the same
        422,
        _l(
            "Please enter your name as it is written, with letters, spaces, hyphens, "
            "apostrophes and dots only (no digits, no web addresses), at most 100 characters."
        ),
    ),
    "invalid_date": (422, _l("“%(field)s” must be a date in the form YYYY-MM-DD.")),
    "date_out_of_range": (422, _l("“%(field)s” must lie between the years 2000 and 2999.")),
    "invalid_range": (422, _l("The end of the date range lies before its start.")),
    "range_too_long": (422, _l("The date range is too long.")),
    "start_too_soon": (422, _l("This time is too soon to book.")),
    "start_too_far": (422, _l("This time lies beyond the booking horizon.")),
    "start_not_offered": (422, _l("No appointment can start at this time.")),
    "token_required": (401, _l("This request needs the secret from the manage link.")),
    "not_found": (404, _l("Not found.")),
    "service_not_found": (404, _l("This service does not exist.")),
    "appointment_not_found": (404, _l("No appointment matches this link.")),
    "method_not_allowed": (405, _l("This method is not allowed here.")),
    "slot_taken": (409, _l("This time has just been taken. Please choose another.")),
    "appointment_cancelled": (409, _l("This appointment has been cancelled.")),
    "appointment_past": (409, _l("This appointment has already begun or passed.")),
    "hold_expired": (409, _l("This booking was not confirmed in time and has been released.")),
    "too_many_appointments": (
        409,
        _l(
            "This e-mail address already holds as many upcoming appointments as allowed. "
            "Please cancel one before booking another."
        ),
    ),
    "payload_too_large": (413, _l("The request is too large.")),
    "unsupported_media_type": (415, _l("Send the request body as application/json.")),
    "rate_limited": (429, _l("Too many requests. Please wait a moment and try again.")),
    "internal_error": (500, _l("Something went wrong on our side. Please try again later.")),
    "unavailable": (503, _l("The service is unavailable at the moment.")),
    "unknown_device": (401, _l("This counter appliance is unknown or has been revoked.")),
    "not_signed_in": (401, _l("A clerk must sign in at this counter first.")),
    # Enrolment of appliances (docs/enrolment.md); appliances read the codes, IT the messages.
    "bad_signature": (401, _l("The signature does not fit the request and its key.")),
    "stale_timestamp": (401, _l("The request's time is more than 5 minutes off the hub's.")),
    "token_refused": (403, _l("This enrolment token is unknown, expired or used up.")),
    "unknown_key": (403, _l("This appliance's key is not enrolled.")),
    "revoked": (403, _l("This appliance has been revoked.")),
    "pending": (403, _l("This appliance is waiting for IT to approve it.")),
    "replayed": (409, _l("This request was sent before.")),
    "challenge_expired": (410, _l("This challenge has expired or was used. Ask for a new one.")),
    "admin_required": (401, _l("Sign in with an administrator's account.")),
    "not_pending": (404, _l("No appliance waiting for approval shows this claim code.")),
}

# Refusals of a document or an upload (hub.documents.errors), for citizens and clerks alike:
# code -> (HTTP status, message); the message may name the limits `file_mb`, `appointment_mb`.
DOCUMENT_ERRORS: dict[str, tuple[int, Any]] = {
    "too_large": (
        413,
        _l(
            "This file is larger than %(file_mb)s MB. Please send a smaller one, for example "
            "a photo in a lower resolution or a PDF with fewer pages."
        ),
    ),
    "appointment_full": (
        413,
        _l(
            "Together with the files already sent, this would be more than %(appointment_mb)s "
            "MB for this appointment. Please send a smaller file."
        ),
    ),
    "unsupported_type": (
        415,
        _l(
            "Only PDF, JPEG, PNG and HEIC files can be sent. This file is none of them, "
            "whatever its name says."
        ),
    ),
    "damaged": (
        422,
        _l("This file is damaged or cannot be read. Please save or photograph it again."),
    ),
    "infected": (
        422,
        _l("Our virus scanner found malware in this file. It was refused and not kept."),
    ),
    "bad_offset": (409, _l("Part of the file went missing on the way; continue from “received”.")),
    "unknown_upload": (
        404,
        _l("This upload no longer exists (it was cancelled or has expired). Please start again."),
    ),
    "unknown_document": (404, _l("This document does not exist or has been deleted.")),
    "not_allowed": (403, _l("This is not possible (any more) with this appointment's documents.")),
    "reason_required": (
        422,
        _l("Asking for a document again needs a reason of at most 500 characters."),
    ),
    "scanner_unavailable": (
        503,
        _l("Files cannot be checked for viruses at the moment. Please try again later."),
    ),
}

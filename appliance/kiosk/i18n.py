"""German first, English second: the kiosk's texts from its own Babel catalogue
(appliance/kiosk/translations; `make translations` compiles it). The page gets its dynamic texts
as one JSON table, translated here."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel.support import NullTranslations, Translations

LANGUAGES = ("de", "en")
DIRECTORY = Path(__file__).parent / "translations"


def N_(text: str) -> str:
    """Mark a text for the catalogue; it is translated when the page is built."""
    return text


# The texts the page's script shows (states, refusals, announcements); the source is English.
TEXTS: dict[str, str] = {
    "hub_online": N_("connected"),
    "hub_offline": N_("unreachable"),
    "hub_connecting": N_("connecting …"),
    "hub_refused": N_("refused – call IT"),
    "enrolment_token_refused": N_(
        "The server refuses the enrolment token (expired, used up or mistyped). IT must write a"
        " new token onto this appliance."
    ),
    "enrolment_revoked": N_(
        "IT has revoked this appliance's key. To use it again, IT deletes the key folder and"
        " enrols the appliance anew."
    ),
    "call_goes_on": N_(
        "The server is unreachable. The call goes on; nobody new can be admitted until it is back."
    ),
    "device_ok": N_("working"),
    "device_stalled": N_("no picture"),
    "device_off": N_("switched off"),
    "device_absent": N_("not connected"),
    "device_unknown": N_("unknown"),
    "check_ready": N_("Device check: ready"),
    "check_audio_only": N_("Device check: audio only"),
    "check_needs_help": N_("Device check: needs help"),
    "check_none": N_("No device check yet"),
    "state_scheduled": N_("Booked"),
    "state_waiting": N_("Waiting in the lobby"),
    "state_admitted": N_("Admitted"),
    "state_connecting": N_("Connecting"),
    "state_in_call": N_("In the call"),
    "state_reconnecting": N_("Reconnecting"),
    "state_ended": N_("Ended"),
    "state_cancelled": N_("Cancelled"),
    "outcome_done": N_("Done"),
    "outcome_follow_up": N_("Needs follow-up"),
    "outcome_no_show": N_("Did not come"),
    "outcome_dropped": N_("Connection lost"),
    "outcome_cancelled": N_("Cancelled"),
    "media_connecting": N_("Connecting to the citizen …"),
    "media_connected": N_("Connected"),
    "media_lost": N_("Connection interrupted – reconnecting …"),
    "quality_good": N_("Connection good"),
    "quality_fair": N_("Connection fair"),
    "quality_poor": N_("Connection poor"),
    "quality_unknown": N_("Connection quality not known yet"),
    "waiting_since": N_("waiting since {time}"),
    "nobody_waiting": N_("Nobody is waiting."),
    "someone_waiting": N_("{name} is waiting in the lobby."),
    "no_appointments": N_("No appointments today."),
    "other_counter": N_("Booked at another counter whose appliance is offline"),
    "more_unattended": N_("and {count} more"),
    "attempts_left": N_("Wrong PIN. {count} attempts left."),
    "appliance_gone": N_(
        "The counter appliance is not answering. It restarts by itself; if this stays, call IT."
    ),
    "error_sign_in_failed": N_("User name or password is wrong."),
    "error_invalid_pin": N_("The PIN must have 4 to 8 digits."),
    "error_hub_unreachable": N_("The server is unreachable. Please try again in a moment."),
    "error_not_allowed": N_("That is not possible in this state of the call."),
    "error_not_your_call": N_("This call belongs to another counter."),
    "error_unknown_call": N_("This appointment no longer exists."),
    "error_not_signed_in": N_("Please sign in first."),
    "error_other": N_("That did not work: {message}"),
    "mute": N_("Mute"),
    "unmute": N_("Unmute"),
    "camera_off": N_("Camera off"),
    "camera_on": N_("Camera on"),
    "admit": N_("Admit"),
    "no_show": N_("Did not come"),
    "video_citizen": N_("Video of the citizen"),
    "documents_count": N_("Documents {done} of {required}"),
    "item_missing": N_("missing"),
    "item_uploaded": N_("uploaded – please check"),
    "item_accepted": N_("accepted"),
    "item_again": N_("asked for again"),
    "from_citizen": N_("from the citizen"),
    "from_clerk": N_("from you"),
    "show": N_("Show"),
    "accept": N_("Accept"),
    "ask_again": N_("Ask again"),
    "reason": N_("Why is it needed again?"),
    "send_reason": N_("Ask for it"),
    "no_documents": N_("No files yet."),
    "scanning": N_("Scanning …"),
    "page": N_("Page {number}"),
    "rotate": N_("Rotate"),
    "retake": N_("Scan again"),
    "remove": N_("Remove"),
    "sent_scan": N_("Sent to the citizen."),
    "send_file": N_("Send"),
    "error_scanner_failed": N_("The scanner did not deliver a page: {message}"),
    "error_reason_required": N_("Please say why the file is needed again."),
    "pay_request": N_("Request payment"),
    "pay_request_amount": N_("Request payment ({amount})"),
    "pay_each": N_("{amount} each"),
    "pay_quantity": N_("Quantity: {name}"),
    "pay_fewer": N_("One fewer: {name}"),
    "pay_more": N_("One more: {name}"),
    "pay_state_requested": N_("requested"),
    "pay_state_pending": N_("waiting for payment"),
    "pay_state_paid": N_("paid ✓"),
    "pay_state_failed": N_("declined"),
    "pay_state_cancelled": N_("cancelled"),
    "pay_state_expired": N_("expired"),
    "pay_by_mail": N_("by e-mail"),
    "pay_cancel": N_("Cancel"),
    "pay_cancel_sure": N_("Really cancel this request of {amount}?"),
    "pay_cancel_yes": N_("Yes, cancel"),
    "pay_cancel_no": N_("No, keep it"),
    "pay_mail": N_("Send by e-mail"),
    "pay_mailed": N_("Sent to the citizen by e-mail to pay later."),
    "pay_receipt": N_("Receipt in the documents"),
    "pay_requested": N_("Payment of {amount} requested."),
    "pay_changed": N_("Payment of {amount}: {state}"),
    "pay_none_yet": N_("Nothing requested yet."),
    "pay_request_of": N_("Request of {amount} at {time}"),
    "error_no_platform": N_("No payment platform is configured: fees cannot be paid online."),
    "error_unknown_item": N_("This fee item no longer exists; the list is reloaded."),
    "error_repeated_item": N_("An item was chosen twice."),
    "error_quantity": N_("This quantity is not possible for this item."),
    "error_total": N_("The total is not possible (nothing chosen, or too much)."),
    "error_final": N_("This request has ended already."),
    "error_not_found": N_("This payment request does not belong to this call."),
}


@cache
def translations(lang: str) -> NullTranslations:
    """The catalogue of `lang` (English: the source texts)."""
    if lang == "en":
        return NullTranslations()
    return Translations.load(str(DIRECTORY), [lang])


def texts(lang: str) -> dict[str, str]:
    """The script's texts in `lang`."""
    gettext = translations(lang).gettext
    return {key: gettext(text) for key, text in TEXTS.items()}

"""The call page behind the join link: device preview, lobby and the video call itself.

The page is static; everything about the call (whether the link is valid now, the wait, the
ICE servers) comes over the realtime channel, whose refusals the page turns into text.
"""

from __future__ import annotations

from datetime import timedelta

from flask import abort, current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy.exc import DBAPIError

from hub.booking.status import OCCUPYING, Status
from hub.booking.tokens import hash_token, looks_like_token
from hub.calls.ice import ice_servers
from hub.calls.window import JoinWindow
from hub.context import hub_settings, now, store
from hub.i18n import current_language
from hub.operations import calls
from hub.ratelimit import limiter, write_limit
from hub.security import csrf
from hub.web.pay import panel_messages
from hub.web.views import bp


def messages() -> dict[str, str]:
    """Texts the page's script shows, in the page's language."""
    return {
        "connecting": _("Connecting …"),
        "waiting": _("You are in the waiting room. The clerk will let you in."),
        "position": _("Your place in the queue: %(n)s", n="{n}"),
        "minutes": _("Estimated wait: about %(n)s min", n="{n}"),
        "clerk_ready": _("The clerk will be with you any moment."),
        "not_yet_time": _("The clerk will let you in at your appointment time."),
        "clerk_busy": _("The clerk is still helping someone else."),
        "overrunning": _(
            "The previous appointment is taking longer than planned. Thank you for your patience."
        ),
        "counter_offline": _(
            "The clerk is not at the counter yet. We cannot say how long it will take."
        ),
        "admitted": _("You have been let in. Starting the video …"),
        "connecting_media": _("Connecting the video …"),
        "in_call": _("You are talking to the clerk."),
        "reconnecting": _("The connection was interrupted. Reconnecting …"),
        "peer_left": _("The clerk's connection was interrupted. Please wait …"),
        "server_away": _(
            "Our server cannot be reached. Your call goes on; documents and payments wait"
            " until it is back."
        ),
        "server_away_waiting": _("Our server cannot be reached. Reconnecting …"),
        "ended": _("The call has ended. Thank you!"),
        "replaced": _("This call was opened in another window. You can close this one."),
        "unknown_token": _("This link is not valid. Please use the link from your e-mail."),
        "cancelled": _("This appointment has been cancelled."),
        "not_confirmed": _("Please confirm your appointment first (see your e-mail)."),
        "too_early": _("The waiting room opens at %(time)s.", time="{time}"),
        "too_late": _("The time for this appointment is over."),
        "call_ended": _("This call has already taken place."),
        "no_camera": _("No camera found: you can still talk by audio."),
        "denied": _(
            "Your browser does not allow camera and microphone. "
            "Please allow them in the browser settings and reload the page."
        ),
        "no_media": _("Neither camera nor microphone could be started."),
        "error": _("Something went wrong. Reconnecting …"),
        "unavailable": _("The service is briefly unavailable. Trying again …"),
        "mute": _("Mute microphone"),
        "unmute": _("Unmute microphone"),
        "camera_off": _("Turn camera off"),
        "camera_on": _("Turn camera on"),
        "check_ready": _("Camera and microphone work."),
        "check_audio_only": _("Your microphone works; no camera was found. You can talk by audio."),
        "turn_ok": _("Connection test: your network can reach our video relay."),
        "turn_failed": _(
            "Connection test: your network blocks our video relay. "
            "The call may not work from this network."
        ),
        "quality_good": _("Connection: good"),
        "quality_fair": _("Connection: fair"),
        "quality_poor": _("Connection: poor"),
    }


def _live_ttl(token: str) -> timedelta:
    """How long TURN credentials for this join link may live now; 404/410 when it may get none.

    Only a booked appointment whose call can still happen counts: a cancelled, unconfirmed or
    past one, or one whose call has ended, is no ticket to our TURN relay.
    """
    state = calls.link_state(store(), token)
    if state is None:
        abort(404)
    settings = hub_settings()
    window = JoinWindow(
        before=timedelta(minutes=settings.join_before_minutes),
        grace=timedelta(minutes=settings.join_grace_minutes),
    )
    ttl = window.credential_ttl(
        state.start, state.end, now(), timedelta(minutes=settings.turn_ttl_minutes)
    )
    if state.status != Status.BOOKED or state.call_ended or ttl is None:
        abort(410)
    return ttl


@bp.post("/join/<token>/device-check")
@limiter.limit(write_limit)
@csrf.exempt  # JSON only: a cross-site form cannot send application/json without CORS
def device_check(token: str) -> ResponseReturnValue:
    """The page reports its device check: {"result": "ready" | "audio_only" | "needs_help"}."""
    body = request.get_json(silent=True)  # None unless the body is sent as application/json
    result = body.get("result") if isinstance(body, dict) else None
    if not isinstance(result, str) or result not in calls.DEVICE_CHECKS:
        return jsonify(
            error={"code": "invalid_result", "message": "result: " + ", ".join(calls.DEVICE_CHECKS)}
        ), 422
    _live_ttl(token)
    if not calls.record_device_check(store(), token, result, now()):
        abort(404)
    realtime = current_app.extensions.get("realtime")
    if realtime is not None:  # the clerk's lobby shows the result
        realtime.lobby_changed()
    return "", 204


@bp.get("/join/<token>/ice")
@limiter.limit(write_limit)  # each answer is a fresh TURN credential
def ice(token: str) -> ResponseReturnValue:
    """ICE servers for the page's connection test; TURN credentials only for a live
    appointment, short-lived before its join window opens."""
    ttl = _live_ttl(token)
    settings = hub_settings()
    return jsonify(
        ice_servers=ice_servers(
            stun_urls=settings.stun_urls,
            turn_urls=settings.turn_urls,
            turn_secret=settings.turn_secret,
            subject=f"check-{hash_token(token)[:16]}",
            now=now(),
            ttl=ttl,
        )
    )


def _over(token: str) -> str | None:
    """Why this join link can no longer lead to a call (a refusal code), or None while it may.

    Known at load, the page says so at once instead of asking for camera and microphone and
    offering a button that leads nowhere. Early links still get the page (the device check).
    """
    try:
        state = calls.link_state(store(), token)
    except DBAPIError:
        # The database is away: serve the page; its connection is refused as `unavailable`
        # and retried until the hub can check the link again.
        return None
    if state is None:
        return "unknown_token"
    if state.call_ended:
        return "call_ended"
    if state.status not in OCCUPYING:
        return "cancelled"
    settings = hub_settings()
    window = JoinWindow(
        before=timedelta(minutes=settings.join_before_minutes),
        grace=timedelta(minutes=settings.join_grace_minutes),
    )
    return "too_late" if now() > window.closes(state.end) else None


@bp.get("/join/<token>")
def join(token: str) -> ResponseReturnValue:
    """The call page for the holder of a join link."""
    if not looks_like_token(token):
        abort(404)
    text = messages()
    over = _over(token)
    if over is not None:
        status = 404 if over == "unknown_token" else 200
        # After the call its documents can still be downloaded here (and from the manage page).
        kept = token if over == "call_ended" else None
        return render_template(
            "call.html", over=text[over], token=kept, lang=current_language()
        ), status
    return render_template(
        "call.html",
        token=token,
        lang=current_language(),
        messages=text,
        payment_messages=panel_messages(),
    )

"""Every event of the protocol in one table: namespace, direction, name, payload and answer.

The hub's namespaces, the appliance's hub link and the docs read this table, so an event is
added here once; tests check that every handler has its entry and every entry its handler.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from protocol import appliance, citizen, kiosk
from protocol.base import Empty, News, Ok, Request
from protocol.documents import CallDocuments, Documents
from protocol.enrolment import TokenRenewed
from protocol.payments import (
    CallPayments,
    OnPayment,
    PaymentAnswer,
    Payments,
    PaymentsListed,
    RequestPayment,
)
from protocol.signalling import ApplianceMedia, ApplianceSignal, Media, MediaRecorded, Signal
from protocol.views import CallView, Lobby

Direction = Literal["to_server", "to_client"]


@dataclass(frozen=True)
class EventSpec:
    """One event: who sends it, what it carries, and what the acknowledgement carries."""

    namespace: str
    name: str
    direction: Direction
    payload: type[Request] | type[News]
    summary: str
    answer: type[News] | None = None  # the acknowledgement's success form (to_server only)


CITIZEN = citizen.NAMESPACE
APPLIANCE = appliance.NAMESPACE
KIOSK = "kiosk /ws"

EVENTS: tuple[EventSpec, ...] = (
    # /citizen, page → hub
    EventSpec(
        CITIZEN,
        "signal",
        "to_server",
        Signal,
        "relayed to the appliance holding this call; the first offer moves `admitted → "
        "connecting`. A `null` candidate: no more candidates",
        Ok,
    ),
    EventSpec(
        CITIZEN,
        "media",
        "to_server",
        Media,
        "the page's peer connection: `connected` → `in_call`, `disconnected` → `reconnecting`",
        MediaRecorded,
    ),
    EventSpec(CITIZEN, "hangup", "to_server", Empty, "ends the call as `done`", Ok),
    # /citizen, hub → page
    EventSpec(
        CITIZEN,
        "status",
        "to_client",
        citizen.Status,
        "on connect and whenever the call or the wait changes. `ice_servers` (RTCIceServer "
        "dictionaries, TURN with expiring credentials) come once the call is under way",
    ),
    EventSpec(
        CITIZEN,
        "signal",
        "to_client",
        Signal,
        "what the appliance sent, without its `appointment` field",
    ),
    EventSpec(
        CITIZEN,
        "peer_left",
        "to_client",
        citizen.PeerNotice,
        "the appliance lost its connection; wait for `peer_rejoined`",
    ),
    EventSpec(
        CITIZEN,
        "peer_rejoined",
        "to_client",
        citizen.PeerNotice,
        "the appliance is back: **send a new offer**, unless the media still arrives on the"
        " current connection (only signalling was away): then `media` `connected`",
    ),
    EventSpec(
        CITIZEN,
        "replaced",
        "to_client",
        citizen.Replaced,
        "the same link was opened elsewhere; this connection is closed next. Do not reconnect",
    ),
    EventSpec(
        CITIZEN,
        "documents",
        "to_client",
        Documents,
        "the appointment's files and checklist, whenever they change (a file came in, was "
        "reviewed or deleted); files themselves go over HTTP",
    ),
    EventSpec(
        CITIZEN,
        "payments",
        "to_client",
        Payments,
        "the appointment's payment requests, when one is made or changes state; an open one "
        "carries `pay_link`, the hub's page that leads on to the payment platform",
    ),
    # /appliance, appliance → hub
    EventSpec(
        APPLIANCE,
        "sign_in",
        "to_server",
        appliance.SignIn,
        "signs a clerk in; keep `session` and send it as `auth.clerk_session` on every "
        "reconnect. From now on the appliance gets `lobby` news",
        appliance.SignedIn,
    ),
    EventSpec(
        APPLIANCE,
        "sign_out",
        "to_server",
        Empty,
        "ends the clerk session; calls under way go on",
        Ok,
    ),
    EventSpec(
        APPLIANCE,
        "token_renew",
        "to_server",
        Empty,
        "a fresh access token (docs/enrolment.md) before the one connected with expires; "
        "refused `not_key_enrolled` for an appliance connected with a legacy credential",
        TokenRenewed,
    ),
    EventSpec(
        APPLIANCE,
        "admit",
        "to_server",
        appliance.CallRef,
        "lets a waiting citizen in; the citizen gets `status: admitted` with the same ICE servers",
        appliance.Admitted,
    ),
    EventSpec(
        APPLIANCE,
        "signal",
        "to_server",
        ApplianceSignal,
        "relayed to that call's citizen",
        Ok,
    ),
    EventSpec(
        APPLIANCE,
        "media",
        "to_server",
        ApplianceMedia,
        "as for the citizen",
        MediaRecorded,
    ),
    EventSpec(
        APPLIANCE,
        "end",
        "to_server",
        appliance.End,
        "ends a call; also for a citizen who never came (own counter only, signed-in clerk, "
        "and only from 5 minutes after the start by the hub's clock: `too_early` before). "
        "Hanging up a call the appliance holds needs no clerk (one may have signed out "
        "mid-call)",
        appliance.CallDone,
    ),
    EventSpec(
        APPLIANCE,
        "record",
        "to_server",
        appliance.Record,
        "after the call ended: the outcome the clerk chose (one tap on the kiosk) and the "
        "clerk's notes; only the appliance that held the call; may be repeated to correct it. "
        "`not_allowed` before the call ended",
        appliance.CallDone,
    ),
    EventSpec(
        APPLIANCE,
        "day",
        "to_server",
        Empty,
        "today's appointments (Berlin calendar day) at this appliance's counter, and calls it "
        "took over from others, in order of time",
        appliance.Day,
    ),
    EventSpec(
        APPLIANCE,
        "payment_list",
        "to_server",
        appliance.CallRef,
        "the fee items of a held call's service and its payment requests (the appliance asks "
        "when it takes a call; `payments` news follow every change)",
        PaymentsListed,
    ),
    EventSpec(
        APPLIANCE,
        "payment_request",
        "to_server",
        RequestPayment,
        "the clerk asks the citizen of a held call to pay these fee items and quantities; the "
        "hub prices them from the catalogue, stores the request and asks the payment platform "
        "(`pending` when it answered, `requested` while it is being asked again). Refusals: "
        "`no_platform`, `not_your_call`, `unknown_item`, `repeated_item`, `quantity`, `total`",
        PaymentAnswer,
    ),
    EventSpec(
        APPLIANCE,
        "payment_cancel",
        "to_server",
        OnPayment,
        "withdraws an unpaid request (the platform's status is read first: one paid meanwhile "
        "stays `paid`); `final` when it has ended already",
        PaymentAnswer,
    ),
    EventSpec(
        APPLIANCE,
        "payment_mail",
        "to_server",
        OnPayment,
        "pay later: a new request for the same lines goes to the citizen by e-mail with a link "
        "that expires (`payment_mail_days`); the old one is cancelled if still open. Refused "
        "(`final`) for a paid request",
        PaymentAnswer,
    ),
    EventSpec(
        APPLIANCE,
        "heartbeat",
        "to_server",
        appliance.Heartbeat,
        "every `heartbeat_seconds` (15 s; 10–30) and at once after connecting: the software "
        "version, uptime, CPU temperature and load, free disk, the devices' health and the "
        "previous heartbeat's round trip; the hub keeps the last one per device (fleet view)",
        appliance.HeartbeatAck,
    ),
    EventSpec(
        APPLIANCE,
        "action_result",
        "to_server",
        appliance.ActionResult,
        "how a remote `action` went: `waiting` (it would break a call: it runs when the last "
        "call ends), `running` (an update installed, switching; its outcome follows from the "
        "version that runs afterwards), `done` or `failed`, with a line of text, and for `logs` "
        "the daemon's last lines; the hub keeps it for IT",
        Ok,
    ),
    # /appliance, hub → appliance
    EventSpec(
        APPLIANCE,
        "hello",
        "to_client",
        appliance.Hello,
        "after connecting: the protocol version, the device, its counter, the clerk whose "
        "session was resumed, the call this appliance holds (with ICE servers), if any, and "
        "the lobby: `{}` unless a clerk's session was resumed (the lobby names citizens: only "
        "for a signed-in clerk)",
    ),
    EventSpec(
        APPLIANCE,
        "lobby",
        "to_client",
        Lobby,
        "this counter's queue, and citizens whose own counter has no appliance online (this "
        "one may admit them)",
    ),
    EventSpec(
        APPLIANCE,
        "call",
        "to_client",
        CallView,
        "a call this appliance holds, whenever its state changes (see *A call* below)",
    ),
    EventSpec(
        APPLIANCE,
        "signal",
        "to_client",
        ApplianceSignal,
        "from the citizen of a call this appliance holds",
    ),
    EventSpec(
        APPLIANCE,
        "peer_left",
        "to_client",
        citizen.PeerNotice,
        "the citizen lost the connection; wait for `peer_rejoined`",
    ),
    EventSpec(
        APPLIANCE,
        "peer_rejoined",
        "to_client",
        citizen.PeerNotice,
        "the citizen is back; a new offer follows",
    ),
    EventSpec(
        APPLIANCE,
        "revoked",
        "to_client",
        appliance.Revoked,
        "the device was revoked; the connection closes next. Do not reconnect",
    ),
    EventSpec(
        APPLIANCE,
        "action",
        "to_client",
        appliance.Action,
        "IT asks for a remote action (`restart`, `reboot`, `identify`, `settings`, `update` "
        "to `version`, `logs` with its last `lines`); sent again after a reconnect until the "
        "appliance answers it with `action_result` (the `id` tells repeats apart). One that "
        "would break a call (restart, reboot, update, settings read at start) waits unless "
        "`force`; an update is sent only while the counter is closed unless IT said now",
    ),
    EventSpec(
        APPLIANCE,
        "day_changed",
        "to_client",
        appliance.DayChanged,
        "an appointment of this counter was booked, moved (to or from it), cancelled or "
        "confirmed, or its citizen's device check came in; only to appliances with a "
        "signed-in clerk. Nothing personal: fetch `day` (the appliance does at once, and once "
        "more if news arrives while it fetches; it still refetches every minute, as time "
        "alone changes `may_close`)",
    ),
    EventSpec(
        APPLIANCE,
        "documents",
        "to_client",
        CallDocuments,
        "the files and checklist of a call this appliance holds, whenever they change",
    ),
    EventSpec(
        APPLIANCE,
        "payments",
        "to_client",
        CallPayments,
        "the fee items and payment requests of a call this appliance holds, when a request "
        "is made or changes state (`requested → pending → paid / failed / cancelled / "
        "expired`) or its receipt is filed",
    ),
    # kiosk page ↔ appliance
    EventSpec(
        KIOSK,
        "command",
        "to_server",
        kiosk.Command,
        "`{id, cmd, ...}`: one of the commands below",
        kiosk.Reply,
    ),
    EventSpec(KIOSK, "state", "to_client", kiosk.StateMessage, "everything the page shows"),
)


def spec(namespace: str, name: str, direction: Direction) -> EventSpec:
    """The entry for one event (KeyError if the protocol has no such event)."""
    for entry in EVENTS:
        if (entry.namespace, entry.name, entry.direction) == (namespace, name, direction):
            return entry
    raise KeyError(f"{namespace} {direction} {name}")


def names(namespace: str, direction: Direction) -> set[str]:
    """The events one side of a namespace sends."""
    return {e.name for e in EVENTS if e.namespace == namespace and e.direction == direction}

"""The protocol's models: requests are strict, news round-trips through the wire, and the
words for states and outcomes are the hub's."""

from __future__ import annotations

import inspect
import json
import types
import typing
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter, ValidationError

from protocol import appliance, base, citizen, kiosk, payments, signalling, views, vocabulary
from protocol.base import News, Request
from protocol.vocabulary import CLERK_OUTCOMES, CallState, Outcome

MODULES = (base, signalling, views, citizen, appliance, kiosk, payments)
UUID = "0b9a4a5e-2f0e-4c1e-9a57-3d0f3c2b1a00"


def models(kind: type[BaseModel]) -> list[type[BaseModel]]:
    """Every model of the protocol that is a `kind`."""
    found = {
        cls
        for module in MODULES
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, kind) and cls is not kind and cls.__module__.startswith("protocol.")
    }
    return sorted(found, key=lambda cls: (cls.__module__, cls.__name__))


# A valid payload for every request; a new Request model needs one here.
HEALTH = {"camera": "ok", "microphone": "ok", "speaker": "ok", "scanner": "absent"}
EXAMPLES: dict[type[BaseModel], dict[str, Any]] = {
    base.Empty: {},
    signalling.Candidate: {
        "candidate": "candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host",
        "sdpMid": "0",
        "sdpMLineIndex": 0,
        "usernameFragment": "abcd",
    },
    signalling.Signal: {"type": "offer", "sdp": "v=0\r\n"},
    signalling.ApplianceSignal: {"appointment": UUID, "type": "answer", "sdp": "v=0\r\n"},
    signalling.Media: {"state": "connected"},
    signalling.ApplianceMedia: {"appointment": UUID, "state": "disconnected"},
    appliance.SignIn: {"username": "clerk", "password": "geheim"},
    appliance.CallRef: {"appointment": UUID},
    appliance.End: {"appointment": UUID, "outcome": "done"},
    appliance.Record: {"appointment": UUID, "outcome": "follow_up", "notes": "Nachweis fehlt"},
    appliance.DevicesHealth: HEALTH,
    appliance.PushedSettings: {"width": 1280, "height": 720, "counter_label": "Schalter 3"},
    appliance.ActionResult: {"id": 7, "state": "done", "result": "identified for 10 s"},
    appliance.Heartbeat: {
        "version": "0.1.0",
        "uptime_s": 3600,
        "cpu_temp_c": 48.3,
        "load": 0.42,
        "disk_free_mb": 20480,
        "devices": HEALTH,
        "rtt_ms": 12.5,
    },
    kiosk.Command: {"id": 1},
    kiosk.SignIn: {"id": 1, "cmd": "sign_in", "username": "c", "password": "p", "pin": "1234"},
    kiosk.Unlock: {"id": 2, "cmd": "unlock", "pin": "1234"},
    kiosk.Plain: {"id": 3, "cmd": "lock"},
    kiosk.OnAppointment: {"id": 4, "cmd": "admit", "appointment": UUID},
    kiosk.Record: {"id": 5, "cmd": "record", "appointment": UUID, "outcome": "no_show"},
    kiosk.Notes: {"id": 6, "cmd": "notes", "appointment": UUID, "notes": "Entwurf"},
    kiosk.Send: {"id": 7, "cmd": "send", "kind": "camera", "on": False},
    kiosk.Review: {
        "id": 8,
        "cmd": "review",
        "appointment": UUID,
        "document": UUID,
        "accepted": False,
        "reason": "unscharf",
    },
    kiosk.Scan: {"id": 9, "cmd": "scan"},
    kiosk.OnPage: {"id": 10, "cmd": "scan_rotate", "page": 1},
    kiosk.SendScan: {"id": 11, "cmd": "scan_send", "appointment": UUID, "name": "Bescheinigung"},
    kiosk.SendFile: {"id": 12, "cmd": "send_file", "appointment": UUID, "file": "0123456789abcdef"},
    payments.LineWanted: {"code": "fz-privat", "quantity": 2},
    payments.RequestPayment: {"appointment": UUID, "lines": [{"code": "melde", "quantity": 1}]},
    payments.OnPayment: {"appointment": UUID, "payment": UUID},
    kiosk.PayRequest: {
        "id": 13,
        "cmd": "pay_request",
        "appointment": UUID,
        "lines": [{"code": "melde", "quantity": 2}],
    },
    kiosk.OnPayment: {"id": 14, "cmd": "pay_cancel", "appointment": UUID, "payment": UUID},
}


def coerced(value: Any) -> list[Any]:
    """Values a lax model would turn into `value`; a strict one refuses each."""
    if isinstance(value, bool):
        return [int(value), str(value).lower()]
    if isinstance(value, int):
        return [str(value), float(value)]
    if isinstance(value, str):
        return [value.encode()]
    return []


def test_every_request_has_an_example():
    assert set(models(Request)) == set(EXAMPLES)


@pytest.mark.parametrize("model", models(Request), ids=lambda m: f"{m.__module__}.{m.__name__}")
def test_requests_refuse_extra_fields_and_coercion(model):
    example = EXAMPLES[model]
    model.model_validate(example)  # the example itself is fine
    with pytest.raises(ValidationError):
        model.model_validate({**example, "smuggled": 1})
    for field, value in example.items():
        for other in coerced(value):
            with pytest.raises(ValidationError):
                model.model_validate({**example, field: other})


def test_the_kiosk_commands_are_read_by_their_cmd():
    commands = TypeAdapter(kiosk.AnyCommand)
    for model, example in EXAMPLES.items():
        if issubclass(model, kiosk.Command) and model is not kiosk.Command:
            assert type(commands.validate_python(example)) is model
    with pytest.raises(ValidationError):
        commands.validate_python({"id": 1, "cmd": "self_destruct"})


def test_states_and_outcomes_are_named_once():
    from hub.calls import lifecycle

    assert set(CLERK_OUTCOMES) <= set(Outcome)
    assert set(get_args(vocabulary.OutcomeName)) == {o.value for o in Outcome}
    assert set(get_args(vocabulary.CallStateName)) == {s.value for s in CallState}
    assert lifecycle.State is CallState and lifecycle.Outcome is Outcome
    assert set(CLERK_OUTCOMES) == lifecycle.RECORDABLE


# --- news: model -> wire() -> JSON -> read() gives the model back ---


def _limits(metadata: typing.Iterable[Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in metadata:
        for name in ("max_length", "min_length", "ge", "le", "pattern"):
            if getattr(item, name, None) is not None:
                found[name] = getattr(item, name)
        if isinstance(item, annotated_types.MaxLen):
            found["max_length"] = item.max_length
    return found


def values(annotation: Any, metadata: typing.Iterable[Any] = ()) -> st.SearchStrategy[Any]:
    """Values of a field's type within its constraints."""
    limits = _limits(metadata)
    origin = get_origin(annotation)
    if origin is Annotated:
        inner, *more = get_args(annotation)
        return values(inner, [*metadata, *more])
    if annotation is type(None):
        return st.none()
    if origin in (Union, types.UnionType):
        return st.one_of([values(arg, metadata) for arg in get_args(annotation)])
    if origin is Literal:
        return st.sampled_from(get_args(annotation))
    if origin is list:
        return st.lists(values(get_args(annotation)[0]), max_size=3)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return instances(annotation)
    if annotation is bool:
        return st.booleans()
    if annotation is int:
        return st.integers(limits.get("ge", -(2**31)), limits.get("le", 2**31))
    if annotation is str:
        if "pattern" in limits:  # the only pattern is an appointment id
            return st.uuids().map(str)
        return st.text(min_size=limits.get("min_length", 0), max_size=limits.get("max_length", 30))
    raise NotImplementedError(annotation)


def instances(model: type[BaseModel]) -> st.SearchStrategy[Any]:
    """Valid instances of a model (combinations its validators refuse are left out)."""
    fields = {name: values(f.annotation, f.metadata) for name, f in model.model_fields.items()}

    def build(arguments: dict[str, Any]) -> BaseModel | None:
        try:
            return model(**arguments)
        except ValidationError:
            return None

    return st.fixed_dictionaries(fields).map(build).filter(lambda built: built is not None)


@pytest.mark.parametrize("model", models(News), ids=lambda m: f"{m.__module__}.{m.__name__}")
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_news_survive_the_wire(model, data):
    message = data.draw(instances(model))
    sent = json.loads(json.dumps(message.wire()))
    assert model.read(sent) == message

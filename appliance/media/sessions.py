"""The media side of the counter (the core's `Media` port): one aiortc peer connection per
call, fed by the shared camera and microphone through one relay."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from aiortc import MediaStreamTrack, RTCIceTransportPolicy
from aiortc.contrib.media import MediaRelay

from appliance.config import ApplianceSettings
from appliance.core.ports import Send
from appliance.core.state import Sending
from appliance.media.call import Call
from appliance.media.encoded import PacketEncoder, SoftwareEncoder
from appliance.media.feed import Feed
from protocol.signalling import IceServer

if TYPE_CHECKING:
    from appliance.devices.audio.speaker import AlsaSpeaker


class CallMedia:
    """Opens calls on the appliance's devices."""

    def __init__(
        self,
        settings: ApplianceSettings,
        *,
        camera: MediaStreamTrack,
        microphone: MediaStreamTrack | None,
        speaker: AlsaSpeaker | None,
        relay: MediaRelay,
        feed: Feed,
        sending: Sending,
    ) -> None:
        self.settings = settings
        self.camera, self.microphone, self.speaker = camera, microphone, speaker
        self.relay, self.feed, self.sending = relay, feed, sending

    def open_call(
        self,
        appointment: str,
        ice_servers: Sequence[IceServer],
        send: Send,
        changed: Callable[[], None],
    ) -> Call:
        """A new call on this appliance's camera, microphone and screen."""
        call = Call(
            appointment,
            ice_servers,
            self.camera,
            self.microphone,
            self.relay,
            send,
            feed=self.feed,
            sending=self.sending,
            changed=changed,
            video_encoder=self._video_encoder(),
            own_audio=self.settings.audio_encoder == "opus",
            speaker=self.speaker,
        )
        call.transport_policy = RTCIceTransportPolicy(self.settings.ice_transport_policy)
        call.watch()
        return call

    def _video_encoder(self) -> Callable[[], PacketEncoder] | None:
        codec = self.settings.video_encoder
        if codec == "aiortc":
            return None
        return lambda: SoftwareEncoder(codec, self.settings.fps)

    async def close(self) -> None:
        """Let the speaker's sound card finish what it has."""
        if self.speaker is not None:
            await asyncio.to_thread(self.speaker.close)

"""The counter core: what one counter appliance knows and decides, free of Socket.IO, aiortc,
aiohttp and hardware. Adapters around it: the hub link (appliance/hub_link.py), the media
(appliance/media/), the devices (appliance/devices/) and the kiosk (appliance/kiosk/);
appliance/daemon.py wires them."""

from appliance.core.counter import Counter, Options
from appliance.core.state import CounterState, LinkState

__all__ = ["Counter", "CounterState", "LinkState", "Options"]

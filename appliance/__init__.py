"""Counter appliance daemon: camera, microphone, one aiortc peer per call, the link to the hub."""

"""Counter appliance daemon (Raspberry Pi): camera, scanner, aiortc calls, hub link. Coming next."""

"""Payment providers behind one interface: the PaymentProvider protocol and its values
(provider.py), and the XBezahldienste client that talks HTTP to a city's payment platform or to
the payment sandbox (xbezahldienste.py). The hub never decides on its own that a fee is paid."""

"""The payment sandbox: a stand-in payment platform speaking XBezahldienste over HTTP, run as a
process of its own (`buergeramt-payment-sandbox`, `python -m payment_sandbox`) for demos and
tests. A pay page where one pays, declines or cancels; switches for faults; a count of
transactions per requestId. The hub never imports it: it talks to it like to any platform."""

"""Calls across a test network of namespaces: NAT, firewalls, TURN, the hub away (issue 19)."""

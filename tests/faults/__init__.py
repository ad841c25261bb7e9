"""Fault injection: real processes killed, databases and Redis stopped, recovery measured."""

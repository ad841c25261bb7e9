"""Booking domain: catalogue, opening hours, slots and rules. Plain Python, no frameworks."""

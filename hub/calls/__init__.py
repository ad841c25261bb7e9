"""Domain: the call lifecycle, the join window, wait estimates and TURN credentials."""

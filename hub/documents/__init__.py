"""Documents exchanged in an appointment: what kinds are taken, how they are made harmless,
scanned for viruses and encrypted. Plain Python and file libraries; no Flask or SQLAlchemy."""

"""Service functions: each operation combines domain rules with storage in one transaction.

Views (web pages, JSON API, CLI) only call these; they hold no business rules themselves.
"""

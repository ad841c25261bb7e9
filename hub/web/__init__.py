"""Citizens' pages: choose a service, a time, give name and e-mail; manage the appointment."""

from hub.web.views import bp

__all__ = ["bp"]

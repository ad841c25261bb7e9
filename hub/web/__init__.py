"""Citizens' pages: choose a service, a time, give name and e-mail; manage the appointment."""

from hub.web import call  # noqa: F401 - registers /join on the blueprint
from hub.web.views import bp

__all__ = ["bp"]

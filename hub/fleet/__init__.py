"""The fleet of counter appliances, in plain Python: enrolment rules and access tokens."""

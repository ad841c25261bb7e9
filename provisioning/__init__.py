"""Device identity, enrolment of appliances, systemd units, kiosk launcher. Coming next."""

"""What goes onto a counter appliance: the card's files (card.py), the first-boot installer
(firstboot/), the systemd units (systemd/) and the kiosk launcher (kiosk/)."""

"""E-mail to citizens: composition (text, HTML, .ics), delivery (SMTP or an outbox folder) and the
transactional outbox that schedules confirmations and reminders."""

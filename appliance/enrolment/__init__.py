"""Enrolment over the network (issue 17): the appliance's own key (`keys`), the hub's
enrolment and token endpoints (`client`), and the short-lived access token kept fresh
(`keeper`). docs/operations.md, "The appliance's key and enrolment"."""

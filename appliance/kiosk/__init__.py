"""The clerk's touch UI, served by the appliance on localhost only. Coming next."""

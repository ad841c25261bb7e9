"""The services the virtual office offers, with names, durations, fees and checklists."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Service:
    """One service a citizen can book, in German and English."""

    id: str
    name_de: str
    name_en: str
    description_de: str
    description_en: str
    duration_minutes: int
    fee_cents: int
    documents_de: tuple[str, ...] = field(default_factory=tuple)
    documents_en: tuple[str, ...] = field(default_factory=tuple)
    position: int = 0

    def name(self, lang: str) -> str:
        """The name in `lang` ("de" or "en"); German otherwise."""
        return self.name_en if lang == "en" else self.name_de

    def description(self, lang: str) -> str:
        """The description in `lang`."""
        return self.description_en if lang == "en" else self.description_de

    def documents(self, lang: str) -> tuple[str, ...]:
        """What to have ready, in `lang`."""
        return self.documents_en if lang == "en" else self.documents_de


_ID_CARD = ("Personalausweis oder Reisepass", "Identity card or passport")
_MOVE_IN = (
    "Wohnungsgeberbestätigung des Vermieters",
    "Landlord's confirmation of moving in (Wohnungsgeberbestätigung)",
)


def _docs(*pairs: tuple[str, str]) -> dict[str, tuple[str, ...]]:
    return {
        "documents_de": tuple(de for de, _ in pairs),
        "documents_en": tuple(en for _, en in pairs),
    }


# Fees are sample amounts; a city sets its own with `buergeramt services set`.
SEED_SERVICES: tuple[Service, ...] = (
    Service(
        "anmeldung",
        "An- und Ummeldung",
        "Registering a new address or a change of address",
        "Anmeldung nach Zuzug oder Ummeldung innerhalb der Stadt.",
        "Register after moving to the city or moving within it.",
        20,
        0,
        position=1,
        **_docs(_ID_CARD, _MOVE_IN),
    ),
    Service(
        "abmeldung",
        "Abmeldung bei Umzug ins Ausland",
        "Deregistration when moving abroad",
        "Abmeldung der Wohnung, wenn Sie ins Ausland ziehen.",
        "Deregister your address when you move abroad.",
        15,
        0,
        position=2,
        **_docs(_ID_CARD, ("Neue Anschrift im Ausland", "New address abroad")),
    ),
    Service(
        "meldebescheinigung",
        "Melde- und Aufenthaltsbescheinigung",
        "Registration or residence certificate",
        "Bescheinigung über Ihre gemeldete Wohnung oder Ihren Aufenthalt.",
        "Certificate of your registered address or residence.",
        10,
        1000,
        position=3,
        **_docs(_ID_CARD),
    ),
    Service(
        "melderegisterauskunft",
        "Auskunft aus dem Einwohnermelderegister",
        "Information from the residents' register",
        "Auskunft über die Anschrift einer anderen Person.",
        "Information about another person's address.",
        10,
        1000,
        position=4,
        **_docs(
            _ID_CARD,
            ("Name und letzte bekannte Anschrift der Person", "Name and last known address"),
        ),
    ),
    Service(
        "fuehrungszeugnis",
        "Führungszeugnis",
        "Certificate of good conduct",
        "Antrag auf ein Führungszeugnis beim Bundesamt für Justiz.",
        "Apply for a certificate of good conduct from the Federal Office of Justice.",
        10,
        1300,
        position=5,
        **_docs(_ID_CARD),
    ),
    Service(
        "heidelberg-pass",
        "Heidelberg-Pass / Heidelberg-Pass+",
        "Heidelberg-Pass / Heidelberg-Pass+",
        "Antrag auf den Heidelberg-Pass oder Heidelberg-Pass+ für Vergünstigungen.",
        "Apply for the Heidelberg-Pass or Heidelberg-Pass+ for reduced prices.",
        20,
        0,
        position=6,
        **_docs(
            _ID_CARD,
            (
                "Nachweis über Ihr Einkommen oder Ihren Leistungsbezug",
                "Proof of income or benefits",
            ),
        ),
    ),
    Service(
        "landesfamilienpass",
        "Landesfamilienpass",
        "Landesfamilienpass (family pass of Baden-Württemberg)",
        "Antrag auf den Landesfamilienpass Baden-Württemberg.",
        "Apply for the family pass of Baden-Württemberg.",
        15,
        0,
        position=7,
        **_docs(
            _ID_CARD,
            ("Nachweis über Kindergeld oder Kinder im Haushalt", "Proof of child benefit"),
        ),
    ),
    Service(
        "bewohnerparkausweis",
        "Bewohnerparkausweis",
        "Residential parking permit",
        "Antrag auf einen Parkausweis für Bewohnerinnen und Bewohner.",
        "Apply for a residents' parking permit.",
        15,
        12000,
        position=8,
        **_docs(
            _ID_CARD, ("Fahrzeugschein (Zulassungsbescheinigung Teil I)", "Vehicle registration")
        ),
    ),
    Service(
        "schwerbehindertenparkausweis",
        "Schwerbehindertenparkausweis",
        "Disabled parking permit",
        "Antrag auf einen Parkausweis für Menschen mit Behinderung.",
        "Apply for a parking permit for people with disabilities.",
        15,
        0,
        position=9,
        **_docs(
            _ID_CARD,
            ("Schwerbehindertenausweis", "Severe disability card"),
            ("Passfoto", "Passport photo"),
        ),
    ),
)

"""The links in mails, pages and API answers lead to the routes that read their secret."""

from urllib.parse import urlsplit

from hub import create_app
from hub.booking.tokens import join_token_for, new_token, redact_path
from hub.links import links_for
from tests.support.hub import make_settings


def test_both_links_lead_to_the_routes_that_take_their_secret(tmp_path):
    app = create_app(make_settings(tmp_path, public_url="https://termine.example.de/buergeramt"))
    manage = new_token()
    links = links_for(app.extensions["settings"].public_url, manage)
    routes = app.url_map.bind("termine.example.de", script_name="/buergeramt")

    endpoint, args = routes.match(urlsplit(links.manage).path.removeprefix("/buergeramt"))
    assert (endpoint, args) == ("web.manage", {"token": manage})
    endpoint, args = routes.match(urlsplit(links.join).path.removeprefix("/buergeramt"))
    assert (endpoint, args) == ("web.join", {"token": join_token_for(manage)})


def test_a_trailing_slash_in_the_base_makes_no_double_slash():
    manage = new_token()
    links = links_for("https://termine.example.de/", manage)
    assert links.manage == f"https://termine.example.de/manage/{manage}"
    assert links.join == f"https://termine.example.de/join/{join_token_for(manage)}"


def test_neither_secret_survives_redaction_for_the_logs():
    manage = new_token()
    links = links_for("https://termine.example.de", manage)
    for link, secret in ((links.manage, manage), (links.join, join_token_for(manage))):
        assert secret not in redact_path(urlsplit(link).path)

"""Secrets in links: enough randomness, stored as hashes, join derived one way from manage."""

import base64

from hub.booking.tokens import hash_token, join_token_for, looks_like_token, new_token


def test_tokens_carry_at_least_128_random_bits_and_differ():
    tokens = {new_token() for _ in range(1000)}
    assert len(tokens) == 1000
    raw = base64.urlsafe_b64decode(next(iter(tokens)) + "=")
    assert len(raw) * 8 >= 128


def test_join_token_is_derived_but_not_the_manage_token():
    manage = new_token()
    join = join_token_for(manage)
    assert join == join_token_for(manage)
    assert join != manage and join_token_for(new_token()) != join
    assert looks_like_token(join) and looks_like_token(manage)
    assert len(base64.urlsafe_b64decode(join + "=")) == 32


def test_hash_is_stable_and_hides_the_token():
    token = new_token()
    assert hash_token(token) == hash_token(token)
    assert token not in hash_token(token)
    assert len(hash_token(token)) == 64


def test_shape_check_rejects_junk():
    assert not looks_like_token("")
    assert not looks_like_token("abc")
    assert not looks_like_token("a" * 43 + "!")
    assert not looks_like_token("a" * 200)


def test_token_ref_is_a_short_prefix_of_the_stored_hash():
    from hub.booking.tokens import token_ref

    token = new_token()
    assert token_ref(token) == hash_token(token)[:12]
    assert token not in token_ref(token)


def test_redact_path_hides_tokens_but_keeps_the_route():
    from hub.booking.tokens import redact_path, token_ref

    token = new_token()
    assert redact_path(f"/manage/{token}/cancel") == f"/manage/~{token_ref(token)}/cancel"
    assert redact_path("/api/v1/services/passport/slots") == "/api/v1/services/passport/slots"


def test_a_server_error_quoting_a_link_logs_only_its_reference(caplog):
    import logging

    from hub.booking.tokens import new_token, token_ref
    from hub.server import _error_log

    token = new_token()
    with caplog.at_level(logging.ERROR, logger="hub.server.errors"):
        _error_log().error("%s: GET /manage/%s?x=1 failed", "127.0.0.1", token)
    (line,) = caplog.messages
    assert token not in line
    assert f"/manage/~{token_ref(token)}?x=1" in line

"""The session interface reuses its serializer, and builds a new one when the keys change."""

from __future__ import annotations

from flask import Flask, session


def test_the_serializer_is_reused_until_the_secret_key_changes(app: Flask) -> None:
    interface = app.session_interface
    first = interface.get_signing_serializer(app)
    assert first is not None and interface.get_signing_serializer(app) is first
    app.secret_key = "another-secret"
    rotated = interface.get_signing_serializer(app)
    assert rotated is not None and rotated is not first
    assert rotated.loads(rotated.dumps({"a": 1})) == {"a": 1}


def test_a_session_signed_with_an_old_key_stays_readable_with_it_as_a_fallback(app: Flask) -> None:
    @app.get("/set")
    def set_value() -> str:
        session["value"] = "kept"
        return "ok"

    @app.get("/get")
    def get_value() -> str:
        return str(session.get("value"))

    client = app.test_client()
    client.get("/set")
    app.config["SECRET_KEY_FALLBACKS"] = [app.secret_key]
    app.secret_key = "rotated-secret"
    assert client.get("/get").get_data(as_text=True) == "kept"
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert client.get("/get").get_data(as_text=True) == "None"  # the old key no longer verifies

"""Every page names an icon, and /favicon.ico (asked for by browsers anyway) is not a 404."""

from __future__ import annotations


def test_the_favicon_is_served_and_linked(client):
    res = client.get("/favicon.ico")
    assert res.status_code == 200 and res.mimetype == "image/svg+xml"
    assert b"<svg" in res.data
    page = client.get("/").get_data(as_text=True)
    assert 'rel="icon"' in page and "img/favicon.svg" in page
    assert client.get("/static/img/favicon.svg").status_code == 200

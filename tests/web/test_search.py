"""The global search box (issue 19 item 10), scoped to the user: a hospital user finds its own
hospital and its own cases only; an officer finds any hospital and any case of the published
settlement; a desk claim is found by its id where the user may read it."""

from __future__ import annotations


def test_search_is_scoped_to_the_user(client_for):
    officer, h1 = client_for("officer"), client_for("h1")
    everything = officer.get("/search", params={"q": "H"}).text
    assert "/drg/hospitals/H1" in everything and "/drg/hospitals/H3" in everything
    own = h1.get("/search", params={"q": "H"}).text
    assert "/drg/hospitals/H1" in own and "/drg/hospitals/H3" not in own
    # K02 is a case of H1 in the hand-worked region; K03's hospital is another
    case = officer.get("/search", params={"q": "K02"}).text
    assert 'id="search-cases"' in case and "/cases/K02" in case
    assert "/cases/K02" in h1.get("/search", params={"q": "K02"}).text
    h3_case = client_for("h3").get("/search", params={"q": "K02"}).text
    assert "/cases/K02" not in h3_case
    nothing = client_for("reporter").get("/search", params={"q": "H1"})
    assert nothing.status_code == 200 and "/drg/hospitals/" not in nothing.text
    assert 'action="/search"' in officer.get("/policies").text  # the box is on every page

"""Web ingestion against a local news site: clean article text, feeds, PDFs, safe fetching.

The site runs on 127.0.0.1, so these tests allow private addresses — except where refusing them
is what is tested.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

import retrieval.fetching as fetching
from retrieval.errors import BadInputError
from tests.conftest import REPO
from tests.web_server import NewsSite, article_page, atom, gzip_bomb, minimal_pdf, rss

SERRAJ = ("Le gouvernement d'union nationale de Fayez al-Serraj s'est installé à Tripoli, dans une base navale, "
          "sous la protection de forces loyales. Les Nations unies soutiennent ce gouvernement.")
KOBLER = ("L'envoyé spécial de l'ONU en Libye, Martin Kobler, poursuit ses discussions avec les différents acteurs "
          "de la crise pour les convaincre de soutenir le processus de paix.")


@pytest.fixture
def site() -> Iterator[NewsSite]:
    s = NewsSite()
    yield s
    s.close()


@pytest.fixture
def engine(make_engine):  # type: ignore[no-untyped-def]
    return make_engine(llm=None, allow_private_urls=True, fetch_timeout_s=2.0, fetch_max_bytes=200_000,
                       fetch_deadline_s=4.0)


def stored_text(engine, collection: str = "default") -> str:  # type: ignore[no-untyped-def]
    _, docs, _ = engine.store.all_chunks(engine.store.collection(collection, engine.embeddings.name))
    return "\n".join(docs)


def test_article_page_keeps_only_the_article(site: NewsSite, engine) -> None:  # type: ignore[no-untyped-def]
    site.html("/libye", article_page("Libye : le gouvernement d'union à Tripoli", [SERRAJ, KOBLER],
                                     canonical=site.url("/libye")))
    report = engine.ingest_urls([site.url("/libye?utm_source=x")])
    assert report.ingested == ["Libye : le gouvernement d'union à Tripoli"]
    text = stored_text(engine)
    assert "Fayez al-Serraj" in text and "Martin Kobler" in text
    for junk in ("PUBLICITÉ", "cookies", "Mentions légales", "Météo du jour", "Abonnez-vous"):
        assert junk not in text
    [source] = engine.sources()
    assert source.id == site.url("/libye")  # the canonical URL identifies the article
    assert source.date == "2016-06-24" and source.lang == "fr"
    again = engine.ingest_urls([site.url("/libye")])
    assert again.ingested == [] and len(again.unchanged) == 1


def test_a_changed_page_replaces_its_chunks(site: NewsSite, engine) -> None:  # type: ignore[no-untyped-def]
    site.html("/p", article_page("Libye", [SERRAJ, KOBLER]))
    engine.ingest_urls([site.url("/p")])
    site.html("/p", article_page("Libye", [SERRAJ, KOBLER.replace("Martin Kobler", "Ghassan Salamé")]))
    assert engine.ingest_urls([site.url("/p")]).ingested
    text = stored_text(engine)
    assert "Ghassan Salamé" in text and "Martin Kobler" not in text


def test_latin1_page_reads_right(site: NewsSite, engine) -> None:  # type: ignore[no-untyped-def]
    page = article_page("Élections à Tripoli", [SERRAJ, KOBLER]).replace("utf-8", "iso-8859-1").replace("—", "-")
    site.html("/latin", page, charset="iso-8859-1")
    engine.ingest_urls([site.url("/latin")])
    assert "installé à Tripoli" in stored_text(engine)
    assert engine.sources()[0].title == "Élections à Tripoli"


def test_the_charset_a_page_or_its_server_declares_is_the_one_read(site: NewsSite, engine) -> None:  # type: ignore[no-untyped-def]
    """Slovak in ISO-8859-2 is guessed to be CP1250 (the same but for a few letters: "ątátnom",
    "podµa"); what the server or the page says it is decides."""
    text = ("Vláda v pondelok schválila návrh zákona o štátnom rozpočte, ktorý podľa ministra financií "
            "zníži deficit. Opozícia kritizuje, že rozpočet nepočíta so zvýšením platov učiteľov.")
    def page(day: str, meta: str) -> bytes:
        return (f"<html><head>{meta}<title>Vláda schválila rozpočet</title></head><body>"
                f"<article><h1>Vláda schválila rozpočet</h1><p>{text.replace('pondelok', day)}</p></article>"
                "</body></html>").encode("iso-8859-2")
    site.routes["/header"] = (200, {"Content-Type": "text/html; charset=ISO-8859-2"}, page("pondelok", ""))
    site.routes["/meta"] = (200, {"Content-Type": "text/html"}, page("utorok", "<meta charset='iso-8859-2'>"))
    engine.ingest_urls([site.url("/header"), site.url("/meta")])
    stored = stored_text(engine)
    assert stored.count("štátnom rozpočte") == 2 and "učiteľov" in stored, stored[:300]


@pytest.mark.parametrize("make_feed", [rss, atom], ids=["rss", "atom"])
def test_feed_items_are_ingested_and_a_second_run_fetches_only_new_ones(site: NewsSite, engine, make_feed) -> None:  # type: ignore[no-untyped-def]
    site.html("/a1", article_page("Premier article", [SERRAJ]))
    site.html("/a2", article_page("Deuxième article", [KOBLER]))
    items = [("Premier article", site.url("/a1"), "Fri, 24 Jun 2016 10:00:00 GMT"),
             ("Deuxième article", site.url("/a2"), "Fri, 24 Jun 2016 11:00:00 GMT")]
    site.routes["/feed"] = (200, {"Content-Type": "application/rss+xml"}, make_feed(items))
    first = engine.ingest_urls([site.url("/feed")])
    assert sorted(first.ingested) == ["Deuxième article", "Premier article"]
    site.html("/a3", article_page("Troisième article", ["Un troisième article sur la Libye et ses institutions, "
                                                          "publié le lendemain par la rédaction du journal."]))
    items.append(("Troisième article", site.url("/a3"), "Sat, 25 Jun 2016 09:00:00 GMT"))
    site.routes["/feed"] = (200, {"Content-Type": "application/rss+xml"}, make_feed(items))
    second = engine.ingest_urls([site.url("/feed")])
    assert second.ingested == ["Troisième article"] and len(second.unchanged) == 2
    assert site.hits["/a1"] == 1 and site.hits["/a2"] == 1  # unchanged items are not fetched again


def test_one_bad_feed_item_never_stops_the_rest(site: NewsSite, engine) -> None:  # type: ignore[no-untyped-def]
    site.html("/ok", article_page("Bon article", [SERRAJ]))
    items = [("Cassé", site.url("/missing"), "Fri, 24 Jun 2016 10:00:00 GMT"),
             ("Bon article", site.url("/ok"), "Fri, 24 Jun 2016 11:00:00 GMT")]
    site.routes["/feed"] = (200, {"Content-Type": "application/rss+xml"}, rss(items))
    report = engine.ingest_urls([site.url("/feed")])
    assert report.ingested == ["Bon article"]
    assert len(report.failed) == 1 and "HTTP 404" in report.failed[0][1]


def test_a_refused_feed_item_waits_for_a_change_and_an_unreachable_one_is_tried_at_each_read(  # type: ignore[no-untyped-def]
        site: NewsSite, make_engine) -> None:
    engine = make_engine(llm=None, allow_private_urls=True, fetch_timeout_s=2.0, max_article_chars=5000)
    site.html("/ok", article_page("Bon article", [SERRAJ]))
    site.routes["/down"] = (503, {"Content-Type": "text/plain"}, b"busy")
    site.routes["/long"] = (200, {"Content-Type": "text/plain"}, ("Un texte sans fin sur la Libye. " * 200).encode())
    items = [("Disparu", site.url("/gone"), "Fri, 24 Jun 2016 09:00:00 GMT"),
             ("En panne", site.url("/down"), "Fri, 24 Jun 2016 10:00:00 GMT"),
             ("Trop long", site.url("/long"), "Fri, 24 Jun 2016 10:30:00 GMT"),
             ("Bon article", site.url("/ok"), "Fri, 24 Jun 2016 11:00:00 GMT")]
    feed = site.url("/feed")
    site.routes["/feed"] = (200, {"Content-Type": "application/rss+xml"}, rss(items))
    first = engine.ingest_feed(feed)
    assert first.ingested == ["Bon article"]
    reasons = "\n".join(reason for _, reason in first.failed)
    assert "HTTP 404" in reasons and "HTTP 503" in reasons and "ARTICLEBOT_MAX_ARTICLE_CHARS" in reasons

    second = engine.ingest_feed(feed)
    assert [url for url, _ in second.failed] == [site.url("/down")]  # only what may come back is tried again
    assert (site.hits["/gone"], site.hits["/long"], site.hits["/down"], site.hits["/ok"]) == (1, 1, 2, 1)

    site.html("/down", article_page("En panne", [KOBLER]))
    site.html("/gone", article_page("Disparu", ["Le texte de l'article disparu est revenu sur le site du journal, "
                                                 "corrigé et daté du lendemain par la rédaction."]))
    items[0] = ("Disparu", site.url("/gone"), "Sat, 25 Jun 2016 08:00:00 GMT")  # the item was updated
    site.routes["/feed"] = (200, {"Content-Type": "application/rss+xml"}, rss(items))
    third = engine.ingest_feed(feed)
    assert sorted(third.ingested) == ["Disparu", "En panne"] and not third.failed
    assert site.hits["/long"] == 1


def test_feed_items_that_left_the_feed_are_forgotten(site: NewsSite, engine) -> None:  # type: ignore[no-untyped-def]
    from retrieval.feeds import FeedItems

    pages = {f"/a{i}": article_page(f"Article {i}", [SERRAJ.replace("Tripoli", f"Tripoli ({i})")]) for i in range(4)}
    for path, page in pages.items():
        site.html(path, page)
    feed = site.url("/feed")
    for window in ([0, 1, 2], [1, 2, 3]):  # a feed shows its latest items only
        site.routes["/feed"] = (200, {"Content-Type": "application/rss+xml"}, rss(
            [(f"Article {i}", site.url(f"/a{i}"), f"Fri, 24 Jun 2016 1{i}:00:00 GMT") for i in window]))
        engine.ingest_feed(feed)
    engine.close()
    items = FeedItems(engine.settings.feed_items_path)
    try:
        assert sorted(items.seen(feed, "default")) == [site.url(f"/a{i}") for i in (1, 2, 3)]
    finally:
        items.close()
    assert len(engine.sources()) == 4  # forgetting an item never removes its article


def test_feed_items_recorded_by_earlier_versions_are_not_fetched_again(site: NewsSite, engine) -> None:  # type: ignore[no-untyped-def]
    from retrieval.feeds import parse_feed

    site.html("/a1", article_page("Premier article", [SERRAJ]))
    feed = site.url("/feed")
    site.routes["/feed"] = (200, {"Content-Type": "application/rss+xml"},
                            rss([("Premier article", site.url("/a1"), "Fri, 24 Jun 2016 10:00:00 GMT")]))
    _, [item] = parse_feed(site.routes["/feed"][2], feed)  # type: ignore[arg-type]
    legacy = engine.settings.home / "feeds.json"
    legacy.parent.mkdir(parents=True, exist_ok=True)
    legacy.write_text(json.dumps({f"default {feed}": {item.key: item.fingerprint}}), encoding="utf-8")
    report = engine.ingest_feed(feed)
    assert report.unchanged == ["Premier article"] and "/a1" not in site.hits
    assert not legacy.exists()


def test_pages_without_a_title_are_named_by_their_feed_item_or_their_url(site: NewsSite, engine) -> None:  # type: ignore[no-untyped-def]
    site.routes["/2016/06/libye-accord.txt"] = (200, {"Content-Type": "text/plain"}, (SERRAJ + " " + KOBLER).encode())
    site.routes["/communique.pdf"] = (200, {"Content-Type": "application/pdf"}, minimal_pdf([
        "Le gouvernement d'union nationale annonce son installation a Tripoli dans une base navale."]))
    item = ("Communiqué du gouvernement", site.url("/communique.pdf"), "Fri, 24 Jun 2016 10:00:00 GMT")
    site.routes["/feed"] = (200, {"Content-Type": "application/rss+xml"}, rss([item]))
    engine.ingest_urls([site.url("/2016/06/libye-accord.txt")])
    engine.ingest_feed(site.url("/feed"))
    assert sorted(source.title for source in engine.sources()) == ["Communiqué du gouvernement", "libye accord"]


def test_pdf_keeps_page_numbers(site: NewsSite, engine) -> None:  # type: ignore[no-untyped-def]
    pages = ["Page one: the unity government of Fayez al-Serraj sits in Tripoli since March of that year.",
             "Page two: Martin Kobler is the special envoy of the United Nations to Libya in this period."]
    site.routes["/report.pdf"] = (200, {"Content-Type": "application/pdf"}, minimal_pdf(pages))
    engine.ingest_urls([site.url("/report.pdf")])
    coll = engine.store.collection("default", engine.embeddings.name)
    _, docs, metas = engine.store.all_chunks(coll)
    assert "Fayez al-Serraj" in "\n".join(docs) and all(m["page"] >= 1 for m in metas)


@pytest.mark.parametrize(("path", "route", "reason"), [
    ("/binary", (200, {"Content-Type": "application/octet-stream"}, b"\x00\x01\x02" * 100),
     "unsupported content type"),
    ("/huge", (200, {"Content-Type": "text/html"}, b"<html><body><p>" + b"x" * 300_000 + b"</p></body></html>"),
     "too large"),
    ("/bomb", (200, {"Content-Type": "text/html", "Content-Encoding": "gzip"}, gzip_bomb(50_000_000)), "too large"),
    ("/never", (200, {}, b""), "no answer within"),
    ("/drip", (200, {}, b""), "took longer than 4 s"),
    ("/gone", (404, {"Content-Type": "text/html"}, b"<html>gone</html>"), "HTTP 404"),
    # A news site turning away non-browsers: the user is told the way round it.
    ("/paywall", (403, {"Content-Type": "text/html"}, b"<html>denied</html>"),
     r"HTTP 403 \(the site refuses automated readers: save the page from your browser and ingest the file\)"),
])
def test_hostile_or_broken_urls_are_refused_with_a_reason(  # type: ignore[no-untyped-def]
        site: NewsSite, engine, path: str, route, reason: str) -> None:
    site.routes[path] = route
    with pytest.raises(BadInputError, match=reason):
        engine.ingest_urls([site.url(path)])
    assert engine.store.collection_names() == []


def test_private_addresses_are_refused_unless_allowed(site: NewsSite, make_engine) -> None:  # type: ignore[no-untyped-def]
    site.html("/p", article_page("Libye", [SERRAJ]))
    strict = make_engine(llm=None)
    with pytest.raises(BadInputError, match="private or local address"):
        strict.ingest_urls([site.url("/p")])
    with pytest.raises(BadInputError, match="private or local address"):
        strict.ingest_urls(["http://localhost:9/"])
    assert site.hits == {}


def _resolver(answers: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    """A stand-in for DNS: each lookup of a named host takes the next of its answers (the last one
    repeats); addresses and other hosts resolve as usual."""
    real = socket.getaddrinfo
    asked: dict[str, int] = {}

    def getaddrinfo(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host not in answers:
            return real(host, port, *args, **kwargs)
        n = asked[host] = asked.get(host, 0) + 1
        address = answers[host][min(n, len(answers[host])) - 1]
        return real(address, port, *args, **kwargs)

    return getaddrinfo


def test_a_redirect_to_a_private_address_is_refused(site: NewsSite, make_engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The first hop stands for a public site (the test can only serve on loopback); the real check
    then refuses the redirect's target."""
    real_resolve = fetching._resolve

    def resolve(host: str, port: int, allow_private: bool) -> list[str]:
        return ["127.0.0.1"] if host == "news.example" else real_resolve(host, port, allow_private)

    monkeypatch.setattr(fetching, "_resolve", resolve)
    public = f"http://news.example:{site.port}/start"
    site.routes["/start"] = (302, {"Location": site.url("/internal-admin")}, b"")
    site.html("/internal-admin", article_page("Secret", [SERRAJ]))
    with pytest.raises(BadInputError, match="private or local address"):
        make_engine(llm=None).ingest_urls([public])
    assert site.hits.get("/start") == 1 and "/internal-admin" not in site.hits


def test_a_host_that_turns_private_after_the_check_is_never_reached(site: NewsSite, make_engine,  # type: ignore[no-untyped-def]
                                                                     monkeypatch) -> None:
    """DNS rebinding: the name answers a public address first and loopback on every later lookup.
    The connection goes to the address that was checked, so the local site is never asked."""
    site.html("/internal-admin", article_page("Secret", [SERRAJ]))
    monkeypatch.setattr(socket, "getaddrinfo", _resolver({"rebind.example": ["8.8.8.8", "127.0.0.1"]}))
    engine = make_engine(llm=None, fetch_timeout_s=1.0)
    with pytest.raises(BadInputError):
        engine.ingest_urls([f"http://rebind.example:{site.port}/internal-admin"])
    assert site.hits == {} and engine.store.collection_names() == []


def test_cli_refuses_binary_content_with_exit_2(site: NewsSite, cli_env: dict[str, str]) -> None:
    site.routes["/bin"] = (200, {"Content-Type": "image/png"}, b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    result = subprocess.run([sys.executable, "-m", "bot.cli", "ingest", site.url("/bin")], capture_output=True,
                            text=True, cwd=REPO, env={**cli_env, "ARTICLEBOT_ALLOW_PRIVATE_URLS": "true"}, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "unsupported content type 'image/png'" in result.stderr


def test_cli_watch_once_polls_a_feed(site: NewsSite, cli_env: dict[str, str]) -> None:
    site.html("/a1", article_page("Premier article", [SERRAJ]))
    site.routes["/feed"] = (200, {"Content-Type": "application/atom+xml"},
                            atom([("Premier article", site.url("/a1"), "2016-06-24T10:00:00Z")]))
    env = {**cli_env, "ARTICLEBOT_ALLOW_PRIVATE_URLS": "true"}
    args = [sys.executable, "-m", "bot.cli", "watch", site.url("/feed"), "--every", "1s", "--once"]
    first = subprocess.run(args, capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    assert first.returncode == 0 and "1 ingested" in first.stdout
    second = subprocess.run(args, capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    assert second.returncode == 0 and "0 ingested, 1 unchanged" in second.stdout
    # A feed that fails, or an article page given as a feed, shows in the exit status (cron notices).
    for url in (site.url("/missing-feed"), site.url("/a1")):
        failed = subprocess.run([*args[:4], url, *args[5:]], capture_output=True, text=True, cwd=REPO, env=env,
                                timeout=120)
        assert failed.returncode == 2 and failed.stderr.startswith("articlebot: "), failed.stderr
    assert "not an RSS or Atom feed" in failed.stderr and site.hits["/a1"] == 2  # read once to find out, not ingested

"""Canonical URLs: the examples that matter, and properties over arbitrary input."""

from __future__ import annotations

import string
from urllib.parse import unquote_plus

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.ingest.urls import article_id, canonicalize, host_of


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HTTPS://Example.COM/News", "https://example.com/News"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("http://example.com:8080/a", "http://example.com:8080/a"),
        ("https://example.com/a#section-2", "https://example.com/a"),
        ("https://www.example.com/a", "https://example.com/a"),
        ("https://m.example.com/a", "https://example.com/a"),
        ("https://amp.example.com/a", "https://example.com/a"),
        ("https://www.m.example.com/a", "https://example.com/a"),
        ("https://example.com/news/story-1/amp", "https://example.com/news/story-1"),
        ("https://example.com/news/story-1/amp/", "https://example.com/news/story-1/"),
        ("https://example.com/amp/news/story-1", "https://example.com/news/story-1"),
        ("https://example.com/a?utm_source=tw&utm_medium=social&id=7", "https://example.com/a?id=7"),
        ("https://example.com/a?fbclid=x&gclid=y&yclid=z&mc_cid=q&b=2&a=1",
         "https://example.com/a?a=1&b=2"),
        ("https://example.com/a?b=2&amp;a=1", "https://example.com/a?a=1&b=2"),
        ("https://example.com/a?b=2&amp;amp;a=1", "https://example.com/a?a=1&b=2"),
        ("https://example.com/a?&&z=1&", "https://example.com/a?z=1"),
        ("https://example.com", "https://example.com/"),
        ("  https://example.com/x  ", "https://example.com/x"),
        ("https://example.com/a/./b/../c", "https://example.com/a/c"),
        ("https://example.com/%7euser/%e2%82%ac", "https://example.com/~user/%E2%82%AC"),
        ("https://example.com/caf\u00e9", "https://example.com/caf%C3%A9"),
        ("https://\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444/a",
         "https://xn--e1afmkfd.xn--p1ai/a"),
        ("https://m.com/a", "https://m.com/a"),  # "m." is the site itself here
        ("https://www.com/a", "https://www.com/a"),
        ("https://example.com/a?q=a%26b", "https://example.com/a?q=a%26b"),
        ("https://example.com/a?copy=1&amp=1", "https://example.com/a?copy=1"),
        ("https://user:pw@Example.com/a", "https://example.com/a"),
    ],
)
def test_examples(raw: str, expected: str) -> None:
    assert canonicalize(raw) == expected


@pytest.mark.parametrize("raw", ["", "not a url", "ftp://example.com/a", "mailto:a@b.c",
                                 "http://", "http://exa mple.com/", "http://[::1/x",
                                 "http://example.com:99999/"])
def test_non_http_or_broken_input_comes_back_stripped(raw: str) -> None:
    assert canonicalize(f" {raw} ") == raw


def test_same_story_same_id() -> None:
    variants = [
        "https://www.example.com/world/story?utm_source=rss#comments",
        "https://m.example.com:443/world/story/amp",
        "HTTPS://EXAMPLE.com/world/story",
    ]
    ids = {article_id(canonicalize(v)) for v in variants}
    assert len(ids) == 1
    (only,) = ids
    assert len(only) == 64 and set(only) <= set(string.hexdigits.lower())


def test_different_stories_different_ids() -> None:
    assert article_id(canonicalize("https://example.com/a")) != article_id(
        canonicalize("https://example.com/b"))


def test_host_of() -> None:
    assert host_of("https://www.Example.com:8443/x") == "example.com"
    assert host_of("garbage") == ""


_url_chars = st.sampled_from([*"abcAB09-._~:/?#[]@!$&'()*+,;=% \t\n\u00e9\u0416\u3042",
                              "%2", "%41", "%2F", "%zz", "&amp;", "amp", "/amp", "www.", "m.",
                              "utm_x=1", ":80", ":443", "..", "./", "\x00", "\ufeff"])
_built = st.builds(
    lambda scheme, host, rest: f"{scheme}://{host}{rest}",
    st.sampled_from(["http", "https", "HTTP", "hTTps", "ftp"]),
    st.lists(st.sampled_from(["www.", "m.", "amp.", "Example", "com", ".", "xn--p1ai",
                              "\u043f\u0440\u0438", ":80", ":8080", "@", "[::1]", "-"]),
             max_size=5).map("".join),
    st.lists(_url_chars, max_size=25).map("".join),
)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.one_of(st.text(max_size=60), _built))
def test_canonicalize_is_idempotent_and_never_raises(url: str) -> None:
    once = canonicalize(url)
    assert isinstance(once, str)
    assert canonicalize(once) == once


@settings(max_examples=300, deadline=None)
@given(_built)
def test_canonical_http_urls_have_no_fragment_tracking_or_default_port(url: str) -> None:
    out = canonicalize(url)
    if out.startswith(("http://", "https://")) and out != url.strip():
        assert "#" not in out
        if "?" in out:  # no tracking parameter is left (``autm_x`` is not one)
            keys = [unquote_plus(p.split("=", 1)[0]).strip().lower()
                    for p in out.split("?", 1)[1].split("&")]
            assert not any(k.startswith("utm_") for k in keys), out
        netloc = out.split("/")[2]
        default_port = {"http": ":80", "https": ":443"}[out.split(":", 1)[0]]
        assert not netloc.endswith(default_port)
        assert netloc == netloc.lower()

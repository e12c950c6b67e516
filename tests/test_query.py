"""Query reading: intent roles, topic words, categories and systems named in a query."""

from __future__ import annotations

import pytest

from ingest.query import fts_expression, fts_expression_requiring, lexical_terms, read_query


@pytest.mark.parametrize(
    ("query", "role", "topic"),
    [
        ("incidents caused by retries", "cause", "retries"),
        ("root cause of the MongoDB outage", "cause", "MongoDB outage"),
        ("what did they do about a thundering herd", "action", "thundering herd"),
        ("how long did the database outage last", "timeline", "database outage last"),
        ("customer impact of DNS failures", "impact", "DNS failures"),
        ("cert expired", None, "cert expired"),
    ],
)
def test_intent_and_topic(query, role, topic):
    reading = read_query(query)
    assert reading.role == role
    assert reading.topic == topic


def test_categories_and_systems_are_recognised():
    reading = read_query(
        "retry storm on mongodb",
        category_names={"retry_storm": ("retry storm",), "network": ("network",)},
        system_names={"mongodb": "MongoDB", "mongo": "MongoDB", "dns": "DNS"},
    )
    assert reading.categories == ("retry_storm",)
    assert reading.systems == ("MongoDB",)
    assert "MongoDB" in reading.describe()


def test_system_alias_needs_word_boundaries():
    reading = read_query("dnsmasq crashed", system_names={"dns": "DNS"})
    assert reading.systems == ()


def test_lexical_terms_drop_filler_and_repeats():
    assert lexical_terms("the retries and the Retries of MTU") == ("retries", "mtu")


def test_fts_expression_quotes_terms():
    assert fts_expression(['say "hi"', "mtu"]) == '"say ""hi""" OR "mtu"'
    assert fts_expression([]) == ""


def test_lexical_terms_drop_what_is_left_of_contractions():
    assert lexical_terms("failover didn't work") == ("failover", "work")
    assert lexical_terms("the monitoring system itself went down") == (
        "monitoring",
        "system",
        "went",
        "down",
    )


def test_fts_expression_requiring_a_rare_term():
    assert fts_expression_requiring(["db", "full"], ["full"]) == '("full") AND ("db" OR "full")'
    assert fts_expression_requiring(["db", "full"], []) == fts_expression(["db", "full"])
    assert fts_expression_requiring(["db"], ["db"]) == '"db"'

"""The digest: headline, order, plain text, well-formed HTML, and Slack's size limits."""

from __future__ import annotations

from datetime import date
from html.parser import HTMLParser

from etl.alerts.digest import Item, build_failure_digest, build_validation_digest, render_html, render_slack, render_text

VOID = {"meta", "br", "hr", "img", "input", "link"}


def item(kind, severity, rule, firm="Acme Futures LLC", day=date(2016, 3, 15), message=None, **kw):
    return Item(kind, severity, rule, firm, day, kw.get("statement", "segregation"), kw.get("code"),
                kw.get("reported"), kw.get("expected"), kw.get("difference"), message or f"{firm} {day} {rule}",
                source=kw.get("source"))


def sample_items():
    return [item("freshness", "warning", "FRESHNESS", firm="Zeta <&> Co", statement=None),
            item("arithmetic", "error", "SEG-EXCESS", reported=10, expected=14, difference=-4, code="7190"),
            item("deficiency", "critical", "DEFICIENCY-SEG", reported=-5, expected=0, difference=-5, code="7190",
                 source="/landing/2016-03-15/acme.txt"),
            item("arithmetic", "error", "SEG-REQUIRED", code="7060"),
            item("arithmetic", "error", "SWP-EXCESS", code="8730", statement="swaps")]


class StrictChecker(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors = [], []

    def handle_starttag(self, tag, attrs):
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def test_headline_counts_by_kind_most_severe_first():
    digest = build_validation_digest(sample_items(), [], "dq-1", [date(2016, 3, 15)], {})
    assert digest.headline == "1 deficiency, 3 arithmetic breaks, 1 missing filing for 2016-03-15"
    assert digest.subject == "[dailyseg] CRITICAL: 1 deficiency, 3 arithmetic breaks, 1 missing filing for 2016-03-15"
    assert [kind for kind, _ in digest.groups()] == ["deficiency", "arithmetic", "freshness"]


def test_text_carries_figures_sources_and_links():
    digest = build_validation_digest(sample_items(), [], "dq-1", [date(2016, 3, 15)],
                                     {"Data Docs": "file:///d/index.html", "Airflow run": "http://af/run"})
    text = render_text(digest)
    assert "reported 10 vs expected 14 (difference -4)" in text
    assert "source: /landing/2016-03-15/acme.txt" in text
    assert "Airflow run: http://af/run" in text and "Data Docs: file:///d/index.html" in text
    assert text.index("DEFICIENCY") < text.index("ARITHMETIC") < text.index("MISSING")


def test_html_is_well_formed_and_escapes_names():
    digest = build_validation_digest(sample_items(), [sample_items()[1]], "dq-1", [date(2016, 3, 15)],
                                     {"Data Docs": "file:///d/index.html?a=1&b=2"})
    page = render_html(digest)
    checker = StrictChecker()
    checker.feed(page)
    checker.close()
    assert checker.errors == [] and checker.stack == []
    assert page.startswith("<!DOCTYPE html>")
    assert "Zeta &lt;&amp;&gt; Co" in page and "Zeta <&> Co" not in page
    assert 'href="file:///d/index.html?a=1&amp;b=2"' in page


def test_slack_payload_stays_within_limits_and_says_how_many_more():
    many = [item("arithmetic", "error", f"R-{i}", firm=f"Firm {i}", message="x" * 4000) for i in range(200)]
    payload = render_slack(build_validation_digest(many, [], "dq-1", [date(2016, 3, 15)], {"Data Docs": "file:///x"}))
    blocks = payload["blocks"]
    assert len(blocks) <= 50
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section")
    shown = sum(1 for b in blocks if b["type"] == "section" and b["text"]["text"].startswith("*[error]"))
    more = [b for b in blocks if "more" in b.get("text", {}).get("text", "") and "…and" in b["text"]["text"]]
    assert more and f"…and {200 - shown} more" in more[0]["text"]["text"]
    assert blocks[-1]["type"] == "context"


def test_failure_digest():
    digest = build_failure_digest("daily_seg_load.ingest", "warehouse unreachable", date(2016, 3, 14),
                                  {"Airflow run": "http://af"})
    assert digest.headline == "pipeline failure in daily_seg_load.ingest for 2016-03-14"
    assert "warehouse unreachable" in render_text(digest)


def test_a_month_end_difference_from_the_cftc_file_is_titled_and_carries_both_figures():
    difference = item("reconciliation", "warning", "RECONCILE-SEC", statement="secured", code="7360",
                      reported=45_710_606, expected=46_799_458, difference=-1_088_852,
                      message="Acme Futures LLC, 2016-02-29, secured: the daily filing's requirement 7360 is "
                              "45,710,606 but the CFTC's monthly file as of 2016-02-29 states 46,799,458")
    digest = build_validation_digest([difference, item("freshness", "warning", "FRESHNESS", statement=None)], [],
                                     "dq-1", [date(2016, 2, 29)], {})
    assert digest.headline == "1 month-end difference from the CFTC file, 1 missing filing for 2016-02-29"
    text = render_text(digest)
    assert "1 MONTH-END DIFFERENCE FROM THE CFTC FILE" in text
    assert "reported 45,710,606 vs expected 46,799,458 (difference -1,088,852)" in text
    assert "month-end difference from the CFTC file" in render_html(digest)

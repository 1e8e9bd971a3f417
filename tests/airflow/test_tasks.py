"""Which End Dates a run checks (params, logical date, none at all), and checking several ranges of
them in one run with one digest that names them."""

from __future__ import annotations

from datetime import date

import pendulum
import pytest

from etl.airflow.steps import ChecksFailed, alert_run, validate_days, validation_spans
from etl.airflow.tasks import BadParams, days_to_validate, requested_days
from etl.airflow.timetable import NEW_YORK
from etl.alerts.channels import SmtpChannel
from etl.ingest.job import ingest
from etl.synthetic.files import generate_filings
from etl.synthetic.firms import make_firms
from tests.alerts.receivers import SmtpReceiver
from tests.dq.planted import _read, _write


class Run:
    def __init__(self, run_after):
        self.run_after = run_after


def days(context) -> list[str]:
    return [d.isoformat() for d in requested_days(context)]


def test_the_params_name_a_day_or_a_range():
    logical = pendulum.datetime(2016, 3, 14, tz="UTC")
    assert days({"params": {"day": "2016-03-09"}, "logical_date": logical}) == ["2016-03-09", "2016-03-09"]
    assert days({"params": {"date_from": "2016-03-01", "date_to": "2016-03-04"}}) == ["2016-03-01", "2016-03-04"]
    assert days({"params": {"date_from": "2016-03-01", "date_to": None}}) == ["2016-03-01", "2016-03-01"]
    with pytest.raises(BadParams, match="date_to .2016-03-01. is before date_from .2016-03-04."):
        requested_days({"params": {"date_from": "2016-03-04", "date_to": "2016-03-01"}})
    with pytest.raises(BadParams, match="the param day must be a date"):
        requested_days({"params": {"day": "next monday"}})


def test_without_params_the_logical_date_names_the_day():
    assert days({"params": {}, "logical_date": pendulum.datetime(2016, 3, 14, tz=NEW_YORK)})[0] == "2016-03-14"
    assert days({"params": {}, "logical_date": pendulum.datetime(2016, 3, 14, tz="UTC")})[0] == "2016-03-14"
    # the trigger form's "now", Monday morning: Thursday's filings are the last ones due
    assert days({"logical_date": pendulum.datetime(2016, 3, 14, 9, 41, tz=NEW_YORK)})[0] == "2016-03-10"


def test_without_a_logical_date_the_run_checks_the_last_day_due_never_crashes():
    context = {"params": {}, "logical_date": None, "dag_run": Run(pendulum.datetime(2016, 3, 15, 17, 0, tz="UTC"))}
    assert days(context) == ["2016-03-14", "2016-03-14"]  # 13:00 in New York: Monday's filings are due
    today = requested_days({"logical_date": None})[0]
    assert today <= date.today() and today.weekday() < 5


def test_a_run_validates_its_days_and_every_end_date_it_loaded():
    context = {"params": {}, "logical_date": pendulum.datetime(2016, 3, 14, tz=NEW_YORK)}
    loaded = {"end_dates": ["2016-03-09", "2016-03-14"]}
    assert sorted(days_to_validate(context, loaded)) == [date(2016, 3, 9), date(2016, 3, 14)]
    weekly = {"params": {"date_from": "2016-03-04", "date_to": "2016-03-08"}}
    assert sorted(d.isoformat() for d in days_to_validate(weekly, None)) == ["2016-03-04", "2016-03-07",
                                                                              "2016-03-08"]


def test_spans_join_consecutive_business_days_only():
    spans = validation_spans([date(2016, 3, 14), date(2016, 3, 11), date(2016, 3, 9), date(2016, 3, 14),
                              date(2016, 2, 12), date(2016, 2, 16)])  # 15 Feb: Presidents' Day
    assert spans == [(date(2016, 2, 12), date(2016, 2, 16)), (date(2016, 3, 9), date(2016, 3, 9)),
                     (date(2016, 3, 11), date(2016, 3, 14))]


def test_two_ranges_are_checked_in_one_run_and_one_digest_names_them(settings, tmp_path):
    landing = tmp_path / "landing"
    generate_filings(landing, firms=3, start=date(2016, 3, 7), end=date(2016, 3, 15), seed=5, amend_rate=0)
    firm = make_firms(3, 5)[1]
    path = landing / "2016-03-08" / f"{firm.slug}.txt"
    header, values = _read(path)
    values["segregation"]["7010"] += 900
    _write(path, header, values)
    ingest([landing], settings)

    with pytest.raises(ChecksFailed) as failed:
        validate_days(settings, {date(2016, 3, 8), date(2016, 3, 14), date(2016, 3, 15)})
    summary = failed.value.summary
    assert summary["spans"] == [["2016-03-08", "2016-03-08"], ["2016-03-14", "2016-03-15"]]
    assert len(summary["run_ids"]) == 2 and summary["errors"] >= 1 and not summary["success"]
    assert "SEG-NET-EQUITY" in str(failed.value) and "2016-03-08, 2016-03-14 to 2016-03-15" in str(failed.value)

    smtp = SmtpReceiver().start()
    try:
        report = alert_run(settings, summary, channels=[SmtpChannel(smtp.url(), "dailyseg@example.com",
                                                                    ["risk@example.com"])])
        (message,) = smtp.messages
    finally:
        smtp.stop()
    assert report["deliveries"][0]["status"] == "sent"
    text = message["message"].get_body(("plain",)).get_content()
    assert "End Dates checked: 2016-03-08, 2016-03-14 to 2016-03-15" in text
    assert firm.name in text and "2016-03-08" in message["message"]["Subject"]

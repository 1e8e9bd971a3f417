"""The business-day timetable: one run per US business day, after the next day's noon deadline."""

from __future__ import annotations

import pendulum
from airflow.timetables.base import DataInterval, TimeRestriction

from etl.airflow.timetable import NEW_YORK, BusinessDayTimetable

NY = NEW_YORK


def schedule(timetable, start, count, catchup=True):
    restriction = TimeRestriction(earliest=start, latest=None, catchup=catchup)
    out, last = [], None
    for _ in range(count):
        info = timetable.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)
        out.append(info)
        last = info.data_interval
    return out


def test_runs_skip_weekends_and_holidays_and_start_after_the_deadline():
    runs = schedule(BusinessDayTimetable(), pendulum.datetime(2016, 5, 26, tz=NY), 4)
    days = [r.logical_date.in_timezone(NY).date().isoformat() for r in runs]
    assert days == ["2016-05-26", "2016-05-27", "2016-05-31", "2016-06-01"]  # Memorial Day, weekend skipped
    friday = runs[1]
    assert friday.run_after == pendulum.datetime(2016, 5, 31, 12, 30, tz=NY)  # due Tuesday noon
    assert friday.data_interval.start == pendulum.datetime(2016, 5, 27, tz=NY)
    assert runs[0].run_after == pendulum.datetime(2016, 5, 27, 12, 30, tz=NY)


def test_logical_date_keeps_its_calendar_day_in_utc():
    run = schedule(BusinessDayTimetable(), pendulum.datetime(2016, 3, 14, tz=NY), 1)[0]
    assert run.logical_date.in_timezone("UTC").date().isoformat() == "2016-03-14"


def test_a_start_on_a_holiday_begins_with_the_next_business_day():
    run = schedule(BusinessDayTimetable(), pendulum.datetime(2016, 7, 4, tz=NY), 1)[0]
    assert run.logical_date.in_timezone(NY).date().isoformat() == "2016-07-05"


def test_without_catchup_the_newest_day_already_due_is_next():
    from etl.airflow.timetable import _run_after
    from etl.business_days import next_business_day
    run = schedule(BusinessDayTimetable(), pendulum.datetime(2016, 1, 4, tz=NY), 1, catchup=False)[0]
    day = run.logical_date.in_timezone(NY).date()
    now = pendulum.now(NY)
    assert run.run_after <= now < _run_after(next_business_day(day))


def test_manual_runs_cover_the_given_business_day():
    interval = BusinessDayTimetable().infer_manual_data_interval(run_after=pendulum.datetime(2016, 3, 14, tz="UTC"))
    assert interval == DataInterval(pendulum.datetime(2016, 3, 14, tz=NY), pendulum.datetime(2016, 3, 15, 12, 30, tz=NY))


def test_a_moment_that_is_not_midnight_means_the_last_day_whose_filings_are_due():
    """The trigger form's default logical date is "now": a run for today would find nothing filed yet."""
    from etl.airflow.timetable import day_named_by, last_due_business_day
    monday_morning = pendulum.datetime(2016, 3, 14, 10, 0, tz=NY)  # Friday's filings are due at noon
    monday_afternoon = pendulum.datetime(2016, 3, 14, 12, 30, tz=NY)
    assert last_due_business_day(monday_morning).isoformat() == "2016-03-10"
    assert last_due_business_day(monday_afternoon).isoformat() == "2016-03-11"
    assert day_named_by(monday_morning).isoformat() == "2016-03-10"
    interval = BusinessDayTimetable().infer_manual_data_interval(run_after=monday_afternoon)
    assert interval.start == pendulum.datetime(2016, 3, 11, tz=NY)
    # midnight names its day, in UTC (--logical-date 2016-03-14) or New York (the schedule's)
    assert day_named_by(pendulum.datetime(2016, 3, 14, tz="UTC")).isoformat() == "2016-03-14"
    assert day_named_by(pendulum.datetime(2016, 3, 14, tz=NY)).isoformat() == "2016-03-14"
    assert day_named_by(pendulum.datetime(2016, 3, 13, tz="UTC")).isoformat() == "2016-03-11"  # a Sunday
    # after a holiday: Friday 1 July 2016 is due Tuesday the 5th (Independence Day)
    assert last_due_business_day(pendulum.datetime(2016, 7, 5, 11, 0, tz=NY)).isoformat() == "2016-06-30"
    assert last_due_business_day(pendulum.datetime(2016, 7, 5, 13, 0, tz=NY)).isoformat() == "2016-07-01"


def test_serializes_for_the_scheduler():
    timetable = BusinessDayTimetable()
    assert BusinessDayTimetable.deserialize(timetable.serialize()).summary == timetable.summary


def test_a_backfill_range_covers_exactly_its_business_days():
    """``airflow backfill create --from-date 2016-02-17 --to-date 2016-02-19`` hands the timetable UTC
    midnights (the evening before in New York): the runs must still be the 17th, 18th and 19th."""
    timetable = BusinessDayTimetable()
    restriction = TimeRestriction(earliest=pendulum.datetime(2016, 2, 17, tz="UTC"),
                                  latest=pendulum.datetime(2016, 2, 19, tz="UTC"), catchup=True)
    days, last = [], None
    while (info := timetable.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)):
        days.append(info.logical_date.in_timezone("UTC").date().isoformat())
        last = info.data_interval
    assert days == ["2016-02-17", "2016-02-18", "2016-02-19"]
    twenty = TimeRestriction(earliest=pendulum.datetime(2016, 2, 16, tz="UTC"),
                             latest=pendulum.datetime(2016, 3, 14, tz="UTC"), catchup=True)
    count, last = 0, None
    while (info := timetable.next_dagrun_info(last_automated_data_interval=last, restriction=twenty)):
        count, last = count + 1, info.data_interval
    assert count == 20  # 16 Feb - 14 Mar 2016: 20 business days (Presidents' Day was the 15th)

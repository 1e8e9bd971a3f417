"""A timetable of the filing calendar: one run per business day, after the next day's noon deadline.

The run for business day D (its logical date, midnight in New York) covers the filings whose End Date
is D. Those are due by noon Eastern on the next business day, so the run starts at 12:30 New York time
on that day. Weekends and US federal holidays have no run (``etl.business_days``). Registered with
Airflow as a plugin through the ``airflow.plugins`` entry point, so the scheduler can deserialize it.
"""

from __future__ import annotations

from datetime import date, time

import pendulum
from airflow.plugins_manager import AirflowPlugin
from airflow.timetables.base import DagRunInfo, DataInterval, TimeRestriction, Timetable

from etl.business_days import is_business_day, next_business_day, previous_business_day

NEW_YORK = pendulum.timezone("America/New_York")
RUN_AT = time(12, 30)  # after the noon deadline, New York time


def _start_of(day: date) -> pendulum.DateTime:
    return pendulum.datetime(day.year, day.month, day.day, tz=NEW_YORK)


def _run_after(day: date) -> pendulum.DateTime:
    due = next_business_day(day)
    return pendulum.datetime(due.year, due.month, due.day, RUN_AT.hour, RUN_AT.minute, tz=NEW_YORK)


def business_day_on_or_before(day: date) -> date:
    return day if is_business_day(day) else previous_business_day(day)


def business_day_on_or_after(day: date) -> date:
    return day if is_business_day(day) else next_business_day(day)


def last_due_business_day(moment) -> date:
    """The newest business day whose filings were due, and whose run could start, by ``moment``."""
    now = pendulum.instance(moment).in_timezone(NEW_YORK)
    day = business_day_on_or_before(now.date())
    while _run_after(day) > now:
        day = previous_business_day(day)
    return day


def day_named_by(moment) -> date:
    """The business day a manual run's logical date names. Midnight (UTC, as ``--logical-date
    2016-03-14`` gives it, or New York, as the schedule does) names its calendar day (a weekend or
    holiday: the business day before); any other moment, such as the trigger form's "now", means the
    last business day whose filings were due by then, never a day whose filings are not due yet."""
    moment = pendulum.instance(moment)
    for zone in ("UTC", NEW_YORK):
        local = moment.in_timezone(zone)
        if (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0):
            return business_day_on_or_before(local.date())
    return last_due_business_day(moment)


def _bound_day(moment) -> date:
    """The calendar day a range bound names. Airflow reads ``--from-date 2016-02-16`` as UTC midnight,
    which is still the 15th in New York; a run's logical date maps back to its day the same way
    (``etl.airflow.tasks.business_day_of``), so midnight UTC and midnight New York both name that day."""
    return pendulum.instance(moment).in_timezone("UTC").date()


class BusinessDayTimetable(Timetable):
    """Runs for each US business day, once that day's filings are due."""

    description = "Each US business day, at 12:30 New York time on the next business day"

    @property
    def summary(self) -> str:
        return "business days (NY), after the noon deadline"

    def info(self, day: date) -> DagRunInfo:
        return DagRunInfo(run_after=_run_after(day), data_interval=DataInterval(_start_of(day), _run_after(day)))

    def infer_manual_data_interval(self, *, run_after: pendulum.DateTime) -> DataInterval:
        day = day_named_by(run_after)
        return DataInterval(_start_of(day), _run_after(day))

    def next_dagrun_info(self, *, last_automated_data_interval: DataInterval | None,
                         restriction: TimeRestriction) -> DagRunInfo | None:
        if last_automated_data_interval is not None:
            last = last_automated_data_interval.start.in_timezone(NEW_YORK).date()
            day = next_business_day(last)
        elif restriction.earliest is None:
            return None  # no start date: nothing to schedule
        else:
            earliest = business_day_on_or_after(_bound_day(restriction.earliest))
            day = earliest
            if not restriction.catchup:  # only the newest day whose filings are already due
                day = max(earliest, last_due_business_day(pendulum.now(NEW_YORK)))
        if restriction.latest is not None and day > _bound_day(restriction.latest):
            return None  # the bound's whole day is in range (--to-date 2016-03-14 includes the 14th)
        return self.info(day)

    def serialize(self) -> dict:
        return {}

    @classmethod
    def deserialize(cls, data: dict) -> BusinessDayTimetable:
        return cls()


class DailysegPlugin(AirflowPlugin):
    name = "dailyseg"
    timetables = [BusinessDayTimetable]


__all__ = ["BusinessDayTimetable", "DailysegPlugin"]

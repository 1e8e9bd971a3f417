"""The filing calendar: weekdays that are not US federal holidays."""

from __future__ import annotations

from datetime import date

from etl.business_days import business_days, is_business_day, last_business_day_in_month, next_business_day, \
    previous_business_day, us_federal_holidays


def test_holidays_of_2016():
    assert us_federal_holidays(2016) == {
        date(2016, 1, 1), date(2016, 1, 18), date(2016, 2, 15), date(2016, 5, 30), date(2016, 7, 4),
        date(2016, 9, 5), date(2016, 10, 10), date(2016, 11, 11), date(2016, 11, 24), date(2016, 12, 26)}


def test_observed_dates_and_juneteenth():
    assert date(2021, 12, 31) in us_federal_holidays(2021)  # New Year 2022 falls on a Saturday
    assert date(2021, 6, 18) in us_federal_holidays(2021)   # Juneteenth 2021 on a Saturday
    assert date(2020, 6, 19) not in us_federal_holidays(2020)
    assert date(2015, 7, 3) in us_federal_holidays(2015)


def test_navigation():
    assert next_business_day(date(2013, 12, 31)) == date(2014, 1, 2)
    assert previous_business_day(date(2016, 3, 14)) == date(2016, 3, 11)
    assert len(business_days(date(2016, 1, 1), date(2016, 12, 31))) == 251
    assert not is_business_day(date(2016, 11, 24)) and is_business_day(date(2016, 11, 25))


def test_the_last_business_day_of_a_month_on_or_before_a_date():
    assert last_business_day_in_month(date(2013, 12, 31)) == date(2013, 12, 31)  # a Tuesday
    assert last_business_day_in_month(date(2016, 1, 31)) == date(2016, 1, 29)  # a Sunday
    assert last_business_day_in_month(date(2021, 12, 31)) == date(2021, 12, 30)  # New Year 2022, observed
    assert last_business_day_in_month(date(2016, 5, 30)) == date(2016, 5, 27)  # Memorial Day
    assert last_business_day_in_month(date(2016, 5, 1)) is None  # a Sunday: nothing earlier in May

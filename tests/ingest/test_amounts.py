"""Reading amounts as filed, example by example and as properties over all integers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from etl.ingest.amounts import AmountError, looks_like_amount, read_amount


@pytest.mark.parametrize("text, value", [
    ("1,234", 1234), ("0", 0), ("-1,837,295", -1837295), ("(1,837,295)", -1837295), ("$1,234", 1234),
    ("-$1,234", -1234), ("$(1,234)", -1234), ("1,234.00", 1234), ("1,234.50", 1235), ("1234567", 1234567),
    ("( 1,234 )", -1234), ("1,234-", -1234), ("-", 0), ("\u2014", 0), ("", None), ("   ", None), ("N/A", None),
    ("\u22121,000", -1000),
])
def test_reads_filed_amounts(text, value):
    assert read_amount(text) == value


@pytest.mark.parametrize("text", ["4,36l,131", "12,34", "1,2345", "(1,234", "1,234)", "--1", "abc", "1.2.3",
                                  "-(5)", "1,,234", "0x10"])
def test_refuses_what_is_not_an_amount(text):
    with pytest.raises(AmountError):
        read_amount(text)


def _grouped(n: int) -> str:
    return f"{abs(n):,}"


@given(st.integers(min_value=-10**15, max_value=10**15))
def test_every_integer_round_trips_in_every_negative_style(n):
    assert read_amount(f"{n:,}") == n
    assert read_amount(str(n)) == n
    assert read_amount(f"({_grouped(n)})" if n < 0 else _grouped(n)) == n
    assert read_amount(f"${_grouped(n)}" if n >= 0 else f"-${_grouped(n)}") == n


@given(st.text(max_size=30))
def test_any_text_reads_or_raises_amount_error(text):
    try:
        value = read_amount(text)
    except AmountError:
        return
    assert value is None or isinstance(value, int)


@given(st.integers(min_value=1000, max_value=10**12), st.sampled_from("lOoIS"), st.data())
def test_a_letter_typed_into_an_amount_is_refused_and_looks_like_an_amount(n, letter, data):
    text = f"{n:,}"
    digits = [i for i, c in enumerate(text) if c.isdigit()]
    i = data.draw(st.sampled_from(digits[1:]))
    typo = text[:i] + letter + text[i + 1:]
    with pytest.raises(AmountError):
        read_amount(typo)
    assert looks_like_amount(typo)


@pytest.mark.parametrize("word", ["12)", "30.7", "lines", "2014", "(add", "1,"])
def test_label_words_do_not_look_like_amounts(word):
    assert not looks_like_amount(word)

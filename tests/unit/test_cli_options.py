"""The CLI's number checks: what each accepts, and the line argparse prints for what it refuses."""

from __future__ import annotations

import argparse

import pytest
from dbt_cloud_runs.cli_options import (
    decimal_number,
    non_negative_float,
    positive_float,
    positive_int,
    whole_number,
)


def refusal(parse: object, value: str) -> str:
    with pytest.raises(argparse.ArgumentTypeError) as caught:
        parse(value)  # type: ignore[operator]
    return str(caught.value)


def test_whole_numbers_within_bounds() -> None:
    port = whole_number(1, 65535, noun="port number")
    assert port("1") == 1 and port("65535") == 65535
    assert refusal(port, "0") == "must be between 1 and 65535, not 0"
    assert refusal(port, "65536") == "must be between 1 and 65535, not 65536"
    assert refusal(port, "http") == "not a port number: 'http'"
    assert positive_int("20") == 20
    assert refusal(positive_int, "0") == "must be 1 or more, not 0"
    assert refusal(positive_int, "2.5") == "not a whole number: '2.5'"


def test_decimal_numbers_inclusive_or_not() -> None:
    assert non_negative_float("0") == 0.0 and non_negative_float("1.5") == 1.5
    assert refusal(non_negative_float, "-1") == "must be 0 or more, not -1"
    assert positive_float("0.5") == 0.5
    assert refusal(positive_float, "0") == "must be more than 0, not 0"
    assert refusal(positive_float, "soon") == "not a number: 'soon'"
    assert refusal(decimal_number(2.0), "1.9") == "must be 2 or more, not 1.9"


@pytest.mark.parametrize("parse", [non_negative_float, positive_float])
def test_nan_is_no_duration(parse: object) -> None:
    assert refusal(parse, "nan").startswith("must be")

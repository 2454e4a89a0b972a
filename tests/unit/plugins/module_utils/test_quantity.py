from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from ansible_collections.cloudnative.fluid.plugins.module_utils.quantity import (
    QuantityError, format_bytes, parse_bytes, parse_quantity)

from fakes import format_quantity, is_quantity, same_quantity

GIB = 1024 ** 3


@pytest.mark.parametrize("text,expected", [
    ("12GiB", 12 * GIB),
    ("12.00GiB", 12 * GIB),
    ("24.00GiB", 24 * GIB),
    ("1.742GiB", round(1.742 * GIB)),
    ("0B", 0),
    ("0.00B", 0),
    ("2Gi", 2 * GIB),
    ("10Gi", 10 * GIB),
    ("500Mi", 500 * 1024 ** 2),
    ("1.5Gi", 3 * GIB // 2),
    ("10G", 10 * 10 ** 9),
    ("1e3", 1000),
    ("1024", 1024),
    ("100KiB", 100 * 1024),
    ("3 MiB", 3 * 1024 ** 2),
    ("2GB", 2 * GIB),  # Fluid/Alluxio read GB as binary
    ("1.5TiB", 3 * 1024 ** 4 // 2),
])
def test_parse_bytes(text, expected):
    assert parse_bytes(text) == expected


def test_parse_bytes_empty_and_int():
    assert parse_bytes(None) is None
    assert parse_bytes("") is None
    assert parse_bytes(4096) == 4096


@pytest.mark.parametrize("bad", ["12 GiBs", "abc", "-2Gi", "2gi", "Gi", "1..2Gi", "2 Gi"])
def test_parse_bytes_rejects(bad):
    with pytest.raises(QuantityError):
        parse_bytes(bad)


def test_parse_quantity_milli_and_rejects_human_sizes():
    assert parse_quantity("100m") == Decimal("0.1")
    assert parse_quantity("2Gi") == 2 * GIB
    assert not is_quantity("2GiB")  # a status size, not a spec quantity
    with pytest.raises(QuantityError) as e:
        parse_quantity("2GB")
    assert "Ki, Mi, Gi" in str(e.value)
    with pytest.raises(QuantityError):
        parse_quantity(True)


def test_format_bytes_like_fluid():
    assert format_bytes(12 * GIB, strip=False) == "12.00GiB"
    assert format_bytes(12 * GIB) == "12GiB"
    assert format_bytes(0, strip=False) == "0.00B"
    assert format_bytes(0) == "0B"
    assert format_bytes(round(1.742 * GIB), precision=3) == "1.742GiB"
    assert format_bytes(1023) == "1023B"
    assert format_bytes(1536) == "1.5KiB"
    assert format_bytes(None) is None


def test_format_quantity():
    assert format_quantity(2 * GIB) == "2Gi"
    assert format_quantity(10 * GIB) == "10Gi"
    assert format_quantity(500 * 1024 ** 2) == "500Mi"
    assert format_quantity(1000) == "1000"
    assert format_quantity(0) == "0"


def test_same_quantity():
    assert same_quantity("2Gi", "2048Mi")
    assert same_quantity("12GiB", "12.00GiB")
    assert not same_quantity("2Gi", "2G")


@given(st.integers(min_value=0, max_value=2 ** 62))
def test_bytes_roundtrip_through_quantity(n):
    assert parse_bytes(format_quantity(n)) == n


@given(st.integers(min_value=0, max_value=2 ** 60))
def test_human_format_parses_back_within_rounding(n):
    text = format_bytes(n, precision=2, strip=False)
    back = parse_bytes(text)
    # two decimals of the largest unit: error at most half a hundredth of that unit
    unit = 1024 ** max(0, min(6, (n.bit_length() - 1) // 10)) if n else 1
    assert abs(back - n) <= unit * 0.005 + 1

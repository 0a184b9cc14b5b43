import datetime

import pytest

from tcpemu import (
    format_duration,
    format_rate,
    format_size,
    parse_duration,
    parse_probability,
    parse_rate,
    parse_size,
)
from tcpemu.units import is_si_size


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("25ms", 25_000_000),
        ("1.5s", 1_500_000_000),
        ("100us", 100_000),
        ("100µs", 100_000),
        ("7ns", 7),
        ("2m", 120_000_000_000),
        ("1h30m", 5_400_000_000_000),
        ("0", 0),
        (0.25, 250_000_000),
        (2, 2_000_000_000),
        (datetime.timedelta(milliseconds=40), 40_000_000),
    ],
)
def test_parse_duration(text, ns):
    assert parse_duration(text) == ns


@pytest.mark.parametrize("bad", ["25", "ms", "1.2.3s", "-5ms", "5 parsecs", "", "1e3ms"])
def test_parse_duration_rejects(bad):
    with pytest.raises(ValueError):
        parse_duration(bad)


def test_parse_duration_rejects_bool_and_negative():
    with pytest.raises(ValueError):
        parse_duration(True)
    with pytest.raises(ValueError, match="negative"):
        parse_duration(-1)


@pytest.mark.parametrize(
    ("text", "bps"),
    [
        ("800bit", 800),
        ("100kbit", 100_000),
        ("20Mbit", 20_000_000),
        ("1.5Mbit", 1_500_000),
        ("1Gbit", 1_000_000_000),
        ("10Mbps", 10_000_000),
        ("10mbit", 10_000_000),
        ("64000", 64_000),
        (1e6, 1_000_000),
    ],
)
def test_parse_rate(text, bps):
    assert parse_rate(text) == bps


@pytest.mark.parametrize("bad", ["20M", "fast", "-1bit", "1.5.1Mbit"])
def test_parse_rate_rejects(bad):
    with pytest.raises(ValueError, match="rate"):
        parse_rate(bad)


@pytest.mark.parametrize(
    ("text", "n"),
    [
        ("65536", 65536),
        ("64KiB", 65536),
        ("1MiB", 1 << 20),
        ("1GiB", 1 << 30),
        ("10kB", 10_000),
        ("10MB", 10_000_000),
        ("1500B", 1500),
        (4096, 4096),
    ],
)
def test_parse_size(text, n):
    assert parse_size(text) == n


@pytest.mark.parametrize("bad", ["10Mb", "1 parsec", "-1", "64kib"])
def test_parse_size_rejects(bad):
    with pytest.raises(ValueError, match="size"):
        parse_size(bad)


def test_parse_probability():
    assert parse_probability(0.01) == 0.01
    assert parse_probability("1%") == pytest.approx(0.01)
    assert parse_probability("0.5") == 0.5
    with pytest.raises(ValueError):
        parse_probability(float("nan"))
    with pytest.raises(ValueError):
        parse_probability("lots")


def test_formatting():
    assert format_duration(25_000_000) == "25ms"
    assert format_duration(1_500_000_000) == "1.5s"
    assert format_rate(20_000_000) == "20Mbit"
    assert format_size(65536) == "64KiB"
    assert format_size(100) == "100B"


def test_formatting_in_the_units_typed():
    # 1000-based sizes read back in 1000-based units, 1024-based in 1024-based.
    assert format_size(parse_size("1MB"), si=True) == "1MB"
    assert format_size(1_500, si=True) == "1.5kB"
    assert format_size(2_000_000_000, si=True) == "2GB"
    assert format_size(999, si=True) == "999B"
    assert format_size(parse_size("1MB")) == "976.6KiB"
    assert [is_si_size(x) for x in ("1MB", "10kB", "10KB", "1GB", " 2 TB")] == [True] * 5
    assert [is_si_size(x) for x in ("1MiB", "64KiB", "1500", "1500B", 1000, "soon")] == [False] * 6

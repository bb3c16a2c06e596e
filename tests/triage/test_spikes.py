"""Volume spikes: posts per hour against the agency's baseline, k sigma."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from triage.spikes import (
    agency_spikes,
    baseline_stats,
    detect_spikes,
    hourly_counts,
)

START = datetime(2026, 11, 1, tzinfo=timezone.utc)


def steady(hours: int, mean: float = 10.0, seed: int = 1) -> list[int]:
    rng = random.Random(seed)
    return [max(0, round(rng.gauss(mean, mean ** 0.5))) for _ in range(hours)]


def test_a_burst_is_found_at_its_hour() -> None:
    counts = steady(200)
    counts[150] = 60
    spikes = detect_spikes(counts, start=START)
    assert [s.index for s in spikes] == [150]
    spike = spikes[0]
    assert spike.start == START + timedelta(hours=150) and spike.count == 60
    assert spike.z > 3 and spike.baseline == pytest.approx(10, abs=1.5)
    assert spike.to_dict()["start"] == "2026-11-07T06:00:00Z"


def test_quiet_agencies_need_min_count_and_a_poisson_floor() -> None:
    counts = [0] * 100 + [3]
    assert detect_spikes(counts) == []  # 3 posts is below min_count
    assert detect_spikes([0] * 100 + [6])[0].sigma == 1.0  # floored sigma
    assert detect_spikes([4] * 100 + [9]) == []  # sqrt(4) = 2: 9 is only 2.5 sigma


def test_no_judgement_before_enough_history() -> None:
    assert detect_spikes([1] * 10 + [50]) == []
    assert detect_spikes([1] * 10 + [50], min_history=5)[0].index == 10


def test_the_window_forgets_old_levels() -> None:
    counts = [50] * 200 + [5] * 200 + [40]
    assert [s.index for s in detect_spikes(counts, window=168)] == [400]
    assert detect_spikes(counts, window=400) == []


def test_running_sums_agree_with_the_direct_statistics() -> None:
    counts = steady(300, mean=20, seed=4)
    counts[299] = 80
    (spike,) = [s for s in detect_spikes(counts) if s.index == 299]
    mean, sigma = baseline_stats(counts[299 - 168:299])
    assert spike.baseline == pytest.approx(mean) and spike.sigma == pytest.approx(sigma)
    assert spike.z == pytest.approx((80 - mean) / sigma)


def test_hourly_counts_and_agencies() -> None:
    times = [START + timedelta(minutes=m) for m in (1, 59, 61, 200, -5, 60 * 48)]
    assert hourly_counts(times, start=START + timedelta(minutes=30), hours=4) == [2, 1, 0, 1]
    burst = steady(100, mean=3)
    burst[99] = 40
    found = agency_spikes({"pln": burst, "kai": steady(100, mean=3)}, start=START)
    assert list(found) == ["pln"] and found["pln"][-1].index == 99

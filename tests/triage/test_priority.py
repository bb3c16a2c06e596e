"""Priority: tiers from virality, severity, confidence and the SP4N-LAPOR! clock."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from triage.classify import LabelPrediction, Labels
from triage.forecast import Forecast
from triage.priority import (
    DEFAULT_SEVERITY,
    add_working_days,
    prioritize,
    service_clock,
    tier_rank,
    working_days_between,
)
from triage.virality import Virality

WIB = timezone(timedelta(hours=7))
MONDAY_9 = datetime(2026, 11, 23, 9, 0, tzinfo=WIB)  # Monday 09:00 WIB
FRIDAY_10 = datetime(2026, 11, 20, 10, 0, tzinfo=WIB)


def labels(kind="aduan", kind_score=0.9, mal="tidak_ada", mal_score=0.8) -> Labels:
    return Labels(
        kind=LabelPrediction(kind, kind_score, (("lainnya", 1 - kind_score),), ()),
        substance=LabelPrediction("listrik", 0.9, (), ()),
        maladministration=LabelPrediction(mal, mal_score, (), ()),
    )


def virality(score=5.0, ratio=0.5, eph=1.0, engagement=3, forecast=None) -> Virality:
    return Virality(score, engagement, eph, 0.0, ratio, forecast, {})


def prio(lab, vir, age=timedelta(hours=1), **kw):
    return prioritize(lab, vir, created_at=MONDAY_9 - age, now=MONDAY_9, **kw)


def test_bribery_reaches_p2_even_when_nobody_shares_it() -> None:
    p = prio(labels(mal="permintaan_imbalan", mal_score=0.8), virality())
    assert p.tier == "P2" and p.reasons[0] == "permintaan imbalan"
    plain = prio(labels(mal="tidak_kompeten"), virality())
    assert tier_rank(plain.tier) > tier_rank(p.tier)


def test_viral_and_serious_is_p1_with_a_reason_naming_the_agency() -> None:
    p = prio(labels(mal="penyalahgunaan_wewenang"), virality(score=70, ratio=6.2, eph=40),
             agency_name="PLN")
    assert p.tier == "P1"
    assert p.reasons[:2] == ("penyalahgunaan wewenang", "viral: 6x lebih cepat dari biasanya untuk PLN")


def test_a_big_forecast_is_a_reason() -> None:
    vir = virality(score=40, forecast=Forecast(1500.0, 800.0, 3000.0, "gbt:x"), engagement=90)
    assert "diperkirakan ~1.500 interaksi dalam 24 jam" in prio(labels(), vir).reasons


def test_old_unhandled_complaints_rise_with_the_clock() -> None:
    lab, vir = labels(mal="penundaan_berlarut"), virality()
    scores = [prio(lab, vir, age=timedelta(days=d)).score for d in (0.05, 1, 2.5, 3.5, 8)]
    assert scores == sorted(scores) and scores[0] < scores[-1]
    assert "hampir lewat batas 3 hari" in prio(lab, vir, age=timedelta(days=2.5)).reasons
    assert "lewat batas 3 hari" in prio(lab, vir, age=timedelta(days=3.5)).reasons
    assert "lewat batas 5 hari kerja" in prio(lab, vir, age=timedelta(days=8)).reasons


def test_a_severe_complaint_past_the_follow_up_limit_is_p1() -> None:
    p = prio(labels(mal="diskriminasi", mal_score=0.7), virality(), age=timedelta(days=9))
    assert p.tier == "P1"


def test_confidence_scales_priority_and_doubt_is_a_reason() -> None:
    sure = prio(labels(kind_score=0.95, mal="penundaan_berlarut"), virality(score=40))
    unsure = prio(labels(kind_score=0.55, mal="penundaan_berlarut"), virality(score=40))
    assert unsure.score < sure.score and "label belum pasti" in unsure.reasons
    other = prio(labels(kind="lainnya", kind_score=0.9), virality(score=80, ratio=9, eph=50))
    assert other.tier == "P4" and "lewat batas 3 hari" not in other.reasons


def test_severity_weights_are_configurable() -> None:
    lab = labels(mal="tidak_kompeten")
    custom = {**DEFAULT_SEVERITY, "tidak_kompeten": 1.0}
    assert prio(lab, virality(), severity=custom).score > prio(lab, virality()).score


def test_working_days_skip_weekends_and_holidays() -> None:
    assert working_days_between(FRIDAY_10, MONDAY_9) == pytest.approx(14 / 24 + 9 / 24)
    holiday = {date(2026, 11, 23)}
    assert working_days_between(FRIDAY_10, MONDAY_9, holiday) == pytest.approx(14 / 24)
    assert working_days_between(FRIDAY_10, FRIDAY_10 + timedelta(days=30), cap=5) == 5
    deadline = add_working_days(FRIDAY_10, 5)
    assert deadline.astimezone(WIB) == datetime(2026, 11, 27, 10, 0, tzinfo=WIB)  # next Friday
    assert add_working_days(FRIDAY_10, 5, {date(2026, 11, 24)}).astimezone(WIB).day == 30


def test_the_service_clock() -> None:
    clock = service_clock(FRIDAY_10, MONDAY_9)
    assert clock.age_days == pytest.approx(71 / 24) and clock.reason == "hampir lewat batas 3 hari"
    assert clock.pressure == pytest.approx(71 / 72 + 0.25 * clock.working_days / 5)
    assert service_clock(MONDAY_9, MONDAY_9 + timedelta(hours=2)).reason is None


def _walked_working_days(start, end, holidays=()):  # noqa: ANN001, ANN202 - the day-by-day definition
    from triage.priority import WIB

    cur, stop, total = start.astimezone(WIB), end.astimezone(WIB), 0.0
    while cur < stop:
        seg_end = min(datetime.combine(cur.date() + timedelta(days=1), datetime.min.time(), WIB), stop)
        if cur.weekday() < 5 and cur.date() not in holidays:
            total += (seg_end - cur).total_seconds() / 86400.0
        cur = seg_end
    return total


def test_working_days_arithmetic_equals_walking_day_by_day() -> None:
    import random

    rng = random.Random(7)
    base = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for _ in range(500):
        start = base + timedelta(minutes=rng.randrange(0, 60 * 24 * 60))
        end = start + timedelta(minutes=rng.randrange(-600, 60 * 24 * 40))
        holidays = {(start + timedelta(days=rng.randrange(0, 30))).date() for _ in range(rng.randrange(0, 4))}
        expected = _walked_working_days(start, end, holidays)
        assert working_days_between(start, end, holidays) == pytest.approx(expected)


def test_capped_working_days_equal_the_walked_count_capped() -> None:
    import random

    rng = random.Random(11)
    base = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for _ in range(500):
        start = base + timedelta(minutes=rng.randrange(0, 60 * 24 * 60))
        end = start + timedelta(minutes=rng.randrange(0, 60 * 24 * 20))
        holidays = {(start + timedelta(days=rng.randrange(0, 15))).date() for _ in range(rng.randrange(0, 6))}
        expected = min(_walked_working_days(start, end, holidays), 5)
        assert working_days_between(start, end, holidays, cap=5) == pytest.approx(expected)

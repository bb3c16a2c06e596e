"""Simulated engagement cascades: a self-exciting (Hawkes) branching process, seeded and pure.

The shipped virality forecaster is trained on these, never on real posts (DESIGN.md: real data
is for evaluation only). Given a seed, the output is identical on every machine.

The model (one cascade = one post and every engagement it draws in its first HORIZON hours):

* **Author reach.** Followers come from a heavy-tailed mixture: with probability
  `news_share` (5%) a Pareto(alpha=`pareto_alpha` 1.1, x_min=`pareto_min` 5,000) account
  (media, influencers, capped at 50M), otherwise lognormal(mu=`followers_mu` 5.3,
  sigma=`followers_sigma` 1.6), i.e. a median of about 200 followers. Engagers' follower counts
  come from the same mixture.
* **Appeal.** Each cascade draws a hidden quality `appeal` ~ lognormal(0, `appeal_sigma` 1.0),
  which multiplies every offspring rate of that cascade (why early speed predicts later size).
* **Immigrants.** The post itself draws Poisson(appeal * `root_rate` 0.08 * F0^`gamma` 0.6)
  direct engagements, F0 being the author's followers (sublinear reach, gamma 0.6).
* **Offspring.** Every engagement is a like (0.62), repost (0.18), reply (0.14) or quote (0.06)
  (`type_probs`). Reposts and quotes show the post to the engager's n followers and draw
  Poisson(appeal * `share_rate` 0.027 * n^gamma) further engagements; replies draw 0.2 of that;
  likes draw `like_rate` 0.02 * appeal ("liked by" exposure). The mean branching ratio of a
  cascade is capped at `max_branching` 0.9 by shrinking its appeal, so nothing explodes; a
  cascade also stops at `max_events` 200,000.
* **Memory kernel.** Delays between an event and its offspring follow the SEISMIC kernel
  (Zhao et al., KDD 2015): flat for s0, then decaying as (tau/s0)^-(1+theta). Per cascade,
  s0 ~ lognormal(log 10 min, 0.5) and theta ~ uniform(0.1, 0.5) (SEISMIC's fit: 5 min, 0.242).
  With these, a typical cascade has about half of its 24 h engagement after one hour, and about
  a third of the posts seen at one hour at least double by 24 h (Kwak et al., WWW 2010: half of
  retweets within the first hour, three quarters within a day).
* **Day and night (WIB).** Delays are drawn in "activity time"; a post's clock runs at the
  hourly activity of Indonesian X/Twitter (`DIURNAL_WIB`: quiet 01-05, peak 19-22 WIB), so a
  post made at midnight grows slowly until morning. Creation hours are drawn from that profile.

`snapshot(age_hours)` reads the counts a collector would have seen at that age.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import numpy as np

from triage.records import MetricSnapshot

HORIZON_HOURS = 24.0
WIB = timezone(timedelta(hours=7))
# Relative activity of Indonesian X/Twitter by hour of day in WIB (mean 1 after normalising).
_DIURNAL_RAW = (0.55, 0.35, 0.22, 0.16, 0.18, 0.30, 0.50, 0.70, 0.85, 0.95, 1.00, 1.05,
                1.15, 1.10, 1.05, 1.05, 1.10, 1.15, 1.25, 1.40, 1.55, 1.60, 1.45, 0.95)
DIURNAL_WIB = tuple(v * 24 / sum(_DIURNAL_RAW) for v in _DIURNAL_RAW)
TYPES = ("likes", "reposts", "replies", "quotes")
EPOCH = datetime(2025, 1, 6, tzinfo=timezone.utc)  # first day of simulated posts (a Monday)


@dataclass(frozen=True)
class CascadeParams:
    """Parameters of the generator (documented in the module docstring)."""

    followers_mu: float = 5.3
    followers_sigma: float = 1.6
    news_share: float = 0.05
    pareto_alpha: float = 1.1
    pareto_min: float = 5_000.0
    appeal_sigma: float = 1.0
    root_rate: float = 0.08
    gamma: float = 0.6
    share_rate: float = 0.027
    reply_factor: float = 0.2
    like_rate: float = 0.02
    type_probs: tuple[float, float, float, float] = (0.62, 0.18, 0.14, 0.06)  # like, repost, reply, quote
    max_branching: float = 0.9
    s0_minutes: float = 10.0
    s0_sigma: float = 0.5
    theta_range: tuple[float, float] = (0.1, 0.5)
    max_events: int = 200_000
    days: int = 60  # creation dates spread over this many days from EPOCH


@dataclass(frozen=True)
class Cascade:
    """One simulated post: its author, creation time and every engagement's age (hours)."""

    created_at: datetime  # UTC
    followers: int  # the author's followers
    ages: dict[str, np.ndarray] = field(repr=False)  # type -> sorted engagement ages (hours)
    appeal: float = 1.0  # hidden, for diagnostics only
    theta: float = 0.5  # hidden, for diagnostics only
    s0: float = 0.1  # hidden kernel scale (hours of activity time)
    # (ages, followers) of the author and of every reposter/quoter, for diagnostics
    exposure: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    def counts(self, age_hours: float) -> dict[str, int]:
        return {t: int(np.searchsorted(a, age_hours, side="right")) for t, a in self.ages.items()}

    def engagement(self, age_hours: float = HORIZON_HOURS) -> int:
        return sum(self.counts(age_hours).values())

    def snapshot(self, age_hours: float) -> MetricSnapshot:
        c = self.counts(age_hours)
        return MetricSnapshot(at=self.created_at + timedelta(hours=age_hours), reposts=c["reposts"],
                              quotes=c["quotes"], replies=c["replies"], likes=c["likes"])

    def snapshots(self, ages_hours: Sequence[float]) -> list[MetricSnapshot]:
        return [self.snapshot(a) for a in sorted(ages_hours)]


def _cumulative_activity() -> np.ndarray:
    """Activity minutes elapsed since midnight WIB, at every wall-clock minute over three days."""
    per_minute = np.repeat(np.array(DIURNAL_WIB * 3), 60)
    return np.concatenate([[0.0], np.cumsum(per_minute)])


_CUM = _cumulative_activity()
_MINUTES = np.arange(_CUM.size, dtype=float)


def _followers(rng: np.random.Generator, p: CascadeParams, size: int) -> np.ndarray:
    base = rng.lognormal(p.followers_mu, p.followers_sigma, size)
    news = rng.random(size) < p.news_share
    if news.any():
        pareto = p.pareto_min * (1.0 - rng.random(int(news.sum()))) ** (-1.0 / p.pareto_alpha)
        base[news] = np.minimum(pareto, 5e7)
    return np.floor(base)


def _mean_reach(p: CascadeParams) -> float:
    """E[n^gamma] under the follower mixture (closed form)."""
    logn = np.exp(p.gamma * p.followers_mu + 0.5 * (p.gamma * p.followers_sigma) ** 2)
    pareto = p.pareto_alpha * p.pareto_min ** p.gamma / (p.pareto_alpha - p.gamma)
    return float((1 - p.news_share) * logn + p.news_share * pareto)


def _delays(rng: np.random.Generator, size: int, s0: float, theta: float) -> np.ndarray:
    """SEISMIC kernel: uniform on [0, s0) with mass theta/(1+theta), else Pareto tail."""
    flat = rng.random(size) < theta / (1.0 + theta)
    u = 1.0 - rng.random(size)
    return np.where(flat, s0 * u, s0 * u ** (-1.0 / theta))


def simulate_cascade(rng: np.random.Generator, params: CascadeParams = CascadeParams()) -> Cascade:
    p = params
    day = int(rng.integers(p.days))
    hour = int(rng.choice(24, p=np.array(DIURNAL_WIB) / 24.0))
    minute = float(rng.random() * 60.0)
    start_min = hour * 60.0 + minute  # minutes since midnight WIB
    created = EPOCH + timedelta(days=day, minutes=start_min) - timedelta(hours=7)
    followers = _followers(rng, p, 1)[0]
    appeal = float(rng.lognormal(0.0, p.appeal_sigma))
    probs = np.array(p.type_probs)
    share_p, reply_p = probs[1] + probs[3], probs[2]
    branching = appeal * (share_p * p.share_rate * _mean_reach(p)
                          + reply_p * p.reply_factor * p.share_rate * _mean_reach(p)
                          + probs[0] * p.like_rate)
    if branching > p.max_branching:
        appeal *= p.max_branching / branching
    s0 = float(np.exp(rng.normal(np.log(p.s0_minutes / 60.0), p.s0_sigma)))
    theta = float(rng.uniform(*p.theta_range))
    # Activity time at creation and at the horizon.
    s_start = float(np.interp(start_min, _MINUTES, _CUM))
    s_end = float(np.interp(start_min + HORIZON_HOURS * 60.0, _MINUTES, _CUM))
    horizon = (s_end - s_start) / 60.0  # in activity hours

    times: list[np.ndarray] = []
    kinds: list[np.ndarray] = []
    reaches: list[np.ndarray] = []
    n0 = rng.poisson(appeal * p.root_rate * followers ** p.gamma)
    gen_t = _delays(rng, n0, s0, theta)
    total = 0
    while gen_t.size and total < p.max_events:
        gen_t = gen_t[gen_t <= horizon][: p.max_events - total]
        if not gen_t.size:
            break
        kind = rng.choice(4, size=gen_t.size, p=probs)
        times.append(gen_t)
        kinds.append(kind.astype(np.int8))
        total += gen_t.size
        engager_followers = _followers(rng, p, gen_t.size)
        reaches.append(engager_followers)
        reach = engager_followers ** p.gamma
        rate = np.where((kind == 1) | (kind == 3), appeal * p.share_rate * reach,
                        np.where(kind == 2, appeal * p.reply_factor * p.share_rate * reach,
                                 appeal * p.like_rate))
        n_children = rng.poisson(rate)
        parents = np.repeat(gen_t, n_children)
        gen_t = parents + _delays(rng, parents.size, s0, theta)
    all_t = np.concatenate(times) if times else np.zeros(0)
    all_k = np.concatenate(kinds) if kinds else np.zeros(0, dtype=np.int8)
    # Activity hours back to wall-clock ages.
    wall_min = np.interp(s_start + all_t * 60.0, _CUM, _MINUTES) - start_min
    ages = {name: np.sort(wall_min[all_k == i] / 60.0) for i, name in enumerate(TYPES)}
    all_f = np.concatenate(reaches) if reaches else np.zeros(0)
    shares = (all_k == 1) | (all_k == 3)
    order = np.argsort(wall_min[shares])
    exposure = (np.concatenate([[0.0], wall_min[shares][order] / 60.0]),
                np.concatenate([[followers], all_f[shares][order]]))
    return Cascade(created, int(followers), ages, appeal, theta, s0, exposure)


def simulate_cascades(n: int, *, seed: int, params: CascadeParams = CascadeParams()) -> list[Cascade]:
    """`n` cascades from one seeded generator (deterministic)."""
    rng = np.random.default_rng(seed)
    return [simulate_cascade(rng, params) for _ in range(n)]


def snapshot_schedule(rng: np.random.Generator, until_hours: float) -> list[float]:
    """Irregular collector reads up to `until_hours`: 1-6 reads, the last one at `until_hours`."""
    k = int(rng.integers(0, 6))
    earlier = np.sort(rng.uniform(0.0, until_hours, k)) if k else np.zeros(0)
    return [float(a) for a in earlier if 0.0 < a < until_hours] + [float(until_hours)]

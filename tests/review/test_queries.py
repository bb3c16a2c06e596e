"""The review pages' SQL on SQLite and PostgreSQL: status, filters, keyset pages, WIB day and
hour buckets, spikes, KPIs, escalation."""

from __future__ import annotations

from datetime import date, timedelta

from pipelines.users import create_user
from review import actions
from review.queries import Cursor, InboxFilter, inbox_page
from review.summary import daily_counts, service_kpis, sources, spikes, window
from tests.review.factory import FAST_HASHER, add_post


def test_inbox_status_filters_and_keyset_pages(app_ctx) -> None:  # noqa: ANN001
    engine, now = app_ctx.engine, app_ctx.clock()
    user = create_user(engine, "rina", "peninjau", "kata-sandi-uji-123", now=now, hasher=FAST_HASHER)
    pks = [add_post(engine, text=f"Jalan Rusak nomor {i}", now=now, priority=0.5, agency_id="pln")
           for i in range(7)]  # equal scores: the post key breaks ties
    odd = add_post(engine, text="100% pungli_loket", now=now, priority=0.9, agency_id=None,
                   age=timedelta(days=5))
    actions.dismiss(engine, app_ctx.registry, pks[0], user.id, user.name, "spam", "", now=now)
    actions.note(engine, pks[1], user.id, user.name, "cek", now=now)
    result = actions.escalate(engine, app_ctx.registry, pks[2], user.id, user.name, now=now)
    assert result.enqueued
    assert not actions.escalate(engine, app_ctx.registry, pks[2], user.id, user.name, now=now).enqueued
    with engine.connect() as conn:
        def ids(f: InboxFilter, **kw) -> list[int]:  # noqa: ANN003
            return [r["post_pk"] for r in inbox_page(conn, f, **kw).rows]

        assert ids(InboxFilter(status="ditolak")) == [pks[0]]
        assert ids(InboxFilter(status="ditinjau")) == [pks[1]]
        assert ids(InboxFilter(status="diteruskan")) == [pks[2]]
        assert set(ids(InboxFilter(status="baru"))) == set(pks[3:]) | {odd}
        assert ids(InboxFilter(agency="-")) == [odd]
        assert ids(InboxFilter(text="100% PUNGLI_")) == [odd] and ids(InboxFilter(text="100%x")) == []
        assert ids(InboxFilter(text="jalan rusak"))[:1] == [pks[-1]]  # case-insensitive on both
        assert ids(InboxFilter(until=date(2026, 11, 18))) == [odd]
        first = inbox_page(conn, InboxFilter(), limit=3)
        assert [r["post_pk"] for r in first.rows] == [odd, pks[6], pks[5]] and first.total == 8
        second = inbox_page(conn, InboxFilter(), after=first.next, limit=3)
        assert [r["post_pk"] for r in second.rows] == [pks[4], pks[3], pks[2]]
        back = inbox_page(conn, InboxFilter(), before=second.previous, limit=3)
        assert [r["post_pk"] for r in back.rows] == [r["post_pk"] for r in first.rows]
        assert Cursor.parse(first.next.token()) == first.next and Cursor.parse("x_y") is None


def test_dashboard_buckets_spikes_and_kpis(app_ctx) -> None:  # noqa: ANN001
    engine, now = app_ctx.engine, app_ctx.clock()  # 2026-11-22 08:00 UTC = 15:00 WIB
    user = create_user(engine, "rina", "peninjau", "kata-sandi-uji-123", now=now, hasher=FAST_HASHER)
    late = add_post(engine, text="lama", now=now, age=timedelta(days=5), agency_id="dukcapil",
                    substance="administrasi_kependudukan")
    quick = add_post(engine, text="cepat", now=now, age=timedelta(days=4), agency_id="dukcapil",
                     substance="administrasi_kependudukan")
    actions.note(engine, quick, user.id, user.name, "ok", now=now - timedelta(days=3, hours=22))
    actions.note(engine, late, user.id, user.name, "telat", now=now)
    for i in range(6):  # a burst for PLN in the last hour, nothing before
        add_post(engine, text=f"padam {i}", now=now, age=timedelta(minutes=10 + i))
    days, start, end = window(7, now)
    assert days[-1] == date(2026, 11, 22) and start.isoformat() == "2026-11-16T00:00:00+07:00"
    with engine.connect() as conn:
        counts = daily_counts(conn, start, end, "aduan")
        assert counts["substance"]["listrik"] == {"2026-11-22": 6}
        assert counts["substance"]["administrasi_kependudukan"] == {"2026-11-17": 1, "2026-11-18": 1}
        assert counts["agency_id"]["dukcapil"] == {"2026-11-17": 1, "2026-11-18": 1}
        (spike,) = spikes(conn, now)
        assert spike["agency_id"] == "pln" and spike["count"] == 6 and spike["hour"] == "2026-11-22 14"
        kpis = service_kpis(conn, start, end, now)
        assert kpis["complaints"] == 8 and kpis["acted"] == 2 and kpis["due"] == 2
        assert kpis["on_time"] == 1 and kpis["on_time_share"] == 0.5 and kpis["overdue_open"] == 0
        assert round(kpis["mean_hours_to_action"]) == round((2 + 120) / 2)
        assert sources(conn, now) == {}

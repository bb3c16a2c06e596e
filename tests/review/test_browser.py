"""End to end in a real headless browser: Playwright driving Debian's chromium against the app
served by uvicorn on localhost, with the bundled sample imported and triaged by the production
models. Screenshots of the pages go to test-artifacts/screenshots/ (git-ignored).

Skipped when /usr/bin/chromium or the production models are missing, unless
PANTAU_REQUIRE_BROWSER=1 (CI), which turns a skip into a failure.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

import review
from pipelines.cli.core import DEMO_NOW, DEMO_SAMPLE
from pipelines.context import AppContext
from pipelines.store import schema as s
from tests.conftest import REPO, FrozenClock, make_context
from tests.review.factory import FAST_HASHER, PASSWORD, add_user

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
REQUIRED = os.environ.get("PANTAU_REQUIRE_BROWSER") == "1"
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
MODELS = Path(os.environ.get("PANTAU_MODELS_DIR") or REPO / "models")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists() and not REQUIRED,
                       reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"),
]


def _unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"PANTAU_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@dataclass
class Served:
    url: str
    ctx: AppContext

    def rows(self, query):  # noqa: ANN001, ANN201
        with self.ctx.engine.connect() as conn:
            return conn.execute(query).all()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The sample imported and triaged into SQLite, served by uvicorn on a free local port."""
    if not CHROMIUM.exists():
        _unavailable("/usr/bin/chromium is missing")
    if not (MODELS / "production.json").exists():
        _unavailable(f"no production models under {MODELS}")
    import uvicorn

    from pipelines.run import import_file, triage_pending

    folder = tmp_path_factory.mktemp("browser")
    ctx = make_context(f"sqlite:///{folder / 'pantau.db'}", folder, FrozenClock(DEMO_NOW),
                       models_dir=str(MODELS))
    import_file(ctx, DEMO_SAMPLE, "jsonl", demo=True)
    triage_pending(ctx, now=DEMO_NOW)
    add_user(ctx.engine, "rina", "peninjau", DEMO_NOW)
    add_user(ctx.engine, "budi", "analis", DEMO_NOW)
    app = FastAPI()
    review.mount(app, ctx, secure_cookies=False, password_hasher=FAST_HASHER)  # plain HTTP

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield Served(f"http://127.0.0.1:{port}", ctx)
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()
    ctx.close()


@pytest.fixture(scope="module")
def browser(served: Served):  # noqa: ANN201
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def dialogs() -> list[str]:
    return []


@pytest.fixture
def login(browser, served: Served, dialogs: list[str]):  # noqa: ANN001, ANN201
    """login("rina") -> a page of a fresh browser context, logged in; every dialog is recorded."""
    contexts = []

    def make(name: str):  # noqa: ANN202
        context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="id-ID")
        contexts.append(context)
        page = context.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(served.url + "/")
        assert page.url.startswith(served.url + "/masuk")
        page.fill("#nama", name)
        page.fill("#sandi", PASSWORD)
        page.click("button:has-text('Masuk')")
        page.wait_for_selector("h1:has-text('Kotak masuk')")
        return page

    yield make
    for context in contexts:
        context.close()


def _shot(page, name: str) -> None:  # noqa: ANN001
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_login_filter_open_correct_and_escalate(served: Served, login) -> None:  # noqa: ANN001
    page = login("rina")
    assert page.locator("tr.baris").count() == 50
    _shot(page, "kotak-masuk")

    tr, p, q = s.triage_results, s.posts, s.queue_items
    substance, count = served.rows(select(tr.c.substance, func.count()).group_by(tr.c.substance)
                                   .order_by(func.count().desc()).limit(1))[0]
    page.select_option("#f-substansi", substance)
    page.click("button:has-text('Terapkan')")
    page.wait_for_url(f"**substansi={substance}**")
    assert page.locator("tr.baris").count() == min(count, 50)
    assert f"{count} unggahan sesuai saringan" in page.inner_text("#jumlah")
    _shot(page, "kotak-masuk-saring")

    page.locator("tr.baris a.buka").first.click()
    page.wait_for_selector("#teks-disamarkan")
    pk = int(page.url.rsplit("/", 1)[-1])
    _shot(page, "detail")
    new = "energi" if substance != "energi" else "listrik"
    page.select_option("#label-substance", new)
    page.click("#simpan-label")
    page.wait_for_selector("text=Label tersimpan")
    stored = served.rows(select(s.reviews.c.field, s.reviews.c.value)
                         .where(s.reviews.c.post_pk == pk, s.reviews.c.action == "label"))
    assert ("substance", new) in stored

    # escalate a post whose case is not in the queue yet
    queued_cases = select(q.c.case_id).where(q.c.case_id.is_not(None))
    target = served.rows(select(p.c.id, p.c.case_id).join(tr, tr.c.post_pk == p.c.id)
                         .where(p.c.case_id.not_in(queued_cases), tr.c.kind == "aduan")
                         .order_by(tr.c.priority_score.desc()).limit(1))[0]
    page.goto(f"{served.url}/posts/{target.id}")
    page.click("#teruskan")
    page.wait_for_selector("text=Aduan diteruskan ke antrean pengaduan")
    items = served.rows(select(q.c.status, q.c.revision, q.c.payload).where(q.c.case_id == target.case_id))
    assert [(i.status, i.revision) for i in items] == [("ready", 1)]
    assert page.inner_text("h1 .status") == "Diteruskan"
    page.goto(f"{served.url}/?status=diteruskan")
    row = page.locator(f"tr.baris[data-post='{target.id}']")
    while row.count() == 0 and page.locator("a[rel=next]").count():  # walk the pages to it
        page.click("a[rel=next]")
        page.wait_for_load_state()
    assert row.locator(".status").inner_text() == "Diteruskan"

    for path, name in (("/ringkasan?hari=7", "ringkasan"), ("/sumber", "sumber")):
        page.goto(served.url + path)
        assert page.locator("h1").inner_text() in ("Ringkasan", "Sumber data")
        _shot(page, name)


def test_hostile_posts_show_as_text_and_run_nothing(served: Served, login, dialogs: list[str]) -> None:  # noqa: ANN001
    p = s.posts
    hostile = served.rows(select(p.c.id, p.c.redacted_text).where(p.c.redacted_text.contains("alert(")))
    assert sum("<script>" in t or "onerror" in t for _, t in hostile) >= 2, \
        "the sample carries <script> and <img onerror> posts"
    for role in ("rina", "budi"):
        page = login(role)
        page.goto(f"{served.url}/?cari=alert(")
        assert page.locator("tr.baris").count() == len(hostile)
        for pk, text in hostile:
            page.goto(f"{served.url}/posts/{pk}")
            shown = page.inner_text("#teks-disamarkan")
            assert shown == text.strip() or text.strip() in shown  # shown as the very characters
            assert page.locator("#isi img, #isi script, #isi svg[onload], #isi b").count() == 0
            if role == "budi":  # the raw text, too, is text
                page.click("#tombol-teks-asli")
                page.wait_for_selector("#teks-asli")
                assert "alert(" in page.inner_text("#teks-asli")
                assert page.locator("#teks-asli img, #teks-asli script, #teks-asli b").count() == 0
        assert page.evaluate("typeof window.__xss") == "undefined"
    page.wait_for_timeout(300)  # give a stray onerror handler time to fire
    assert dialogs == []


def test_reviewer_cannot_open_raw_text(served: Served, login) -> None:  # noqa: ANN001
    pk = served.rows(select(s.posts.c.id).where(s.posts.c.text.is_not(None)).limit(1))[0].id
    page = login("rina")
    page.goto(f"{served.url}/posts/{pk}")
    assert page.locator("#tombol-teks-asli").count() == 0
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    response = page.context.request.post(f"{served.url}/posts/{pk}/teks-asli", form={"csrf_token": token})
    assert response.status == 403 and "tidak berhak melihat teks asli" in response.text()
    audit = served.rows(select(s.audit_log.c.actor, s.audit_log.c.action)
                        .where(s.audit_log.c.target == f"post:{pk}"))
    assert ("rina", "teks_asli.ditolak") in audit and ("rina", "teks_asli.lihat") not in audit


def test_posts_without_csrf_token_are_refused(served: Served, login) -> None:  # noqa: ANN001
    pk = served.rows(select(s.triage_results.c.post_pk).limit(1))[0].post_pk
    page = login("rina")
    before = served.rows(select(s.reviews.c.id))
    for action, form in (("label", {"kind": "aduan", "substance": "pajak", "maladministration": "tidak_ada"}),
                         ("teruskan", {}), ("catatan", {"catatan": "x"})):
        response = page.context.request.post(f"{served.url}/posts/{pk}/{action}", form=form)
        assert response.status == 403 and "Permintaan ditolak" in response.text()
    # a page on another site cannot post for the user either: its form carries no valid token
    page.goto(f"{served.url}/posts/{pk}")
    page.evaluate("""() => { const f = document.querySelector("form[action$='/catatan']");
                             f.querySelector("input[name=csrf_token]").value = "palsu";
                             f.querySelector("textarea").value = "dari situs lain"; f.submit(); }""")
    page.wait_for_selector("text=Permintaan ditolak")
    assert served.rows(select(s.reviews.c.id)) == before
    _shot(page, "csrf-ditolak")

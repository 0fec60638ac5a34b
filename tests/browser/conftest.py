"""Browser tests: Debian Chromium driven by Playwright's sync API against pytest-django's live server.

Run with ``.venv/bin/pytest tests/browser -m browser``. The fixtures are named ``chromium_browser``,
``phone_page``, ``desktop_page`` and ``make_page`` so they do not clash with pytest-playwright's own
``browser`` and ``page`` fixtures (that plugin downloads its own browsers, which cannot happen here).
"""

import io
import os
import sqlite3
from pathlib import Path

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections

from aftercare.management.commands.seed_demo import DEMO_PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    # Without these Chromium keeps trying to reach Google's servers on the closed network.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
TIMEOUT_MS = 10_000


@pytest.fixture(scope="package", autouse=True)
def _allow_sync_orm_beside_playwright():
    """Playwright's sync API runs an event loop in this thread, so Django refuses ORM calls here
    (the test's own queries and live_server's database flush at teardown) with
    SynchronousOnlyOperation unless DJANGO_ALLOW_ASYNC_UNSAFE is set.

    Set it for this package only, not at import time: conftest files are imported for every run,
    and the variable leaks into subprocesses, where ``manage.py check --deploy`` rejects it
    (async.E001) and fails tests/aftercare/test_settings.py. Package scope outlives the last test's
    flush.
    """
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="package")
def chromium_browser():
    """One headless Debian Chromium for the browser tests. Package scope: Playwright's sync API
    keeps an event loop running in the main thread, and Django refuses database work beside a
    running loop, so it must stop before the tests after this folder (e.g. threaded race tests)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium package to run browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def make_page(chromium_browser, live_server):
    """Open a page in a fresh context (own cookies) on the live server: ``make_page(width, height)``."""
    contexts = []

    def make(width: int = PHONE["width"], height: int = PHONE["height"], *, mobile: bool = True):
        context = chromium_browser.new_context(
            base_url=live_server.url,
            viewport={"width": width, "height": height},
            is_mobile=mobile,
            has_touch=mobile,
            device_scale_factor=2 if mobile else 1,
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def phone_page(make_page):
    """A 390 × 844 phone (the width of a current iPhone)."""
    return make_page(**PHONE)


@pytest.fixture
def desktop_page(make_page):
    return make_page(**DESKTOP, mobile=False)


@pytest.fixture(scope="session")
def _demo_snapshot():
    """Holds an in-memory SQLite copy of the seeded database, made by the first test that seeds."""
    holder = {}
    yield holder
    if "snapshot" in holder:
        holder["snapshot"].close()


@pytest.fixture
def demo(transactional_db, _demo_snapshot):
    """The demo district from ``seed_demo`` (password DEMO_PASSWORD).

    live_server needs a transactional database, which is flushed after every test. On SQLite the
    first test seeds (~1.5 s) and keeps a copy made with SQLite's backup API; later tests restore
    that copy in milliseconds. On other databases every test seeds again.
    """
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "sqlite":
        call_command("seed_demo", force=True, stdout=io.StringIO())
        return
    connection.ensure_connection()
    live = connection.connection
    if "snapshot" in _demo_snapshot:
        _demo_snapshot["snapshot"].backup(live)
        # The flush re-created content types under new ids; forget the ones cached since.
        ContentType.objects.clear_cache()
    else:
        call_command("seed_demo", force=True, stdout=io.StringIO())
        snapshot = sqlite3.connect(":memory:", check_same_thread=False)
        live.backup(snapshot)
        _demo_snapshot["snapshot"] = snapshot


def _sign_in(page, username: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through allauth's form and wait for the page it sends us to."""
    page.goto("/accounts/login/")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("form button[type=submit]")


def _screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def sign_in():
    """``sign_in(page, username, password=DEMO_PASSWORD)``: fill allauth's form and submit it."""
    return _sign_in


@pytest.fixture
def screenshot():
    """``screenshot(page, name)``: a full-page PNG in test-output/screenshots/<name>.png."""
    return _screenshot

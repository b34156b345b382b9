"""Browser journeys: a real `backoffice serve` on its own seeded SQLite database, driven by Debian's Chromium.

The server runs once per session in a subprocess (migrate, seed, serve, wait for /healthz) and is
stopped at the end; each test gets a fresh browser context, so cookies never leak between tests.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from backoffice.settings import PROJECT_ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
VIEWPORT = {"width": 1440, "height": 900}
SCREENSHOTS = PROJECT_ROOT / "screenshots"
DEMO_PASSWORD = "demo"
SEED_CUSTOMERS = 50
SEED_VALUE = 7
# The venv's own entry point, found beside the interpreter that runs pytest.
BACKOFFICE = Path(sys.executable).with_name("backoffice")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives real pages in Chromium (needs /usr/bin/chromium)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is missing: install Debian's chromium (`make chromium`)")
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(skip)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server_env(var_dir: Path) -> dict[str, str]:
    """The caller's environment without any BACKOFFICE_* setting (a PostgreSQL URL from a CI run,
    a secure-cookie flag, a port...), then only what this server needs: its own SQLite database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKOFFICE_")}
    env["BACKOFFICE_VAR_DIR"] = str(var_dir)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _run(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(
        [str(BACKOFFICE), *args], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
    )
    if done.returncode != 0:
        pytest.fail(f"backoffice {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"backoffice serve exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    pytest.fail(f"backoffice serve did not answer /healthz within {timeout:.0f} s:\n{log.read_text(errors='replace')}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@dataclass(frozen=True)
class LiveServer:
    url: str
    var_dir: Path

    @property
    def database(self) -> Path:
        return self.var_dir / "backoffice.sqlite3"

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Read the server's database directly (read-only), to find seeded data to type."""
        with closing(sqlite3.connect(f"file:{self.database}?mode=ro", uri=True)) as db:
            return list(db.execute(sql, params))


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (`make chromium`)")
    if not BACKOFFICE.exists():
        pytest.fail(f"{BACKOFFICE} is missing: install the project into the venv (`make test`)")
    var_dir = tmp_path_factory.mktemp("browser-var")
    env = _server_env(var_dir)
    _run(["migrate"], env)
    _run(["seed", "--customers", str(SEED_CUSTOMERS), "--seed", str(SEED_VALUE), "--demo-accounts"], env)
    port = _free_port()
    log = var_dir / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(BACKOFFICE), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env, cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(url, proc, log)
        yield LiveServer(url, var_dir)
    finally:
        _stop(proc)


@pytest.fixture(scope="package")
def browser(live_server: LiveServer) -> Iterator[Any]:
    """Package-scoped, not session-scoped: while sync Playwright runs, its event loop counts as running
    in the main thread, and every async test after this package would fail in asyncio.run()."""
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


@pytest.fixture
def page(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    """A fresh context (no cookies) per test, at the size the screenshots are judged at, with the
    Hungarian floor's locale and time zone."""
    context = browser.new_context(viewport=VIEWPORT, base_url=live_server.url, locale="hu-HU",
                                  timezone_id="Europe/Budapest")
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def sign_in() -> Any:
    """sign_in(page, username) signs a demo account in through the login form."""
    def _sign_in(page: Any, username: str, password: str = DEMO_PASSWORD) -> None:
        page.goto("/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("main.login form[action='/login'] button[type=submit]")
        page.wait_for_url(lambda url: "/login" not in url)
    return _sign_in

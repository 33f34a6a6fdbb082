"""The admin dashboard in a real browser: Debian's Chromium (installed by infra/setup.sh) driven by
Playwright, never a browser Playwright downloads. Sign in, add a backend and see its tools, disable a tool
and see it gone from tools/list, create and revoke a key, and a backend whose tool metadata carries
HTML/script payloads (tests/backends/hostile_server.py on :3015) cannot script the page. A screenshot of
every page is kept under .run/admin-ui/."""

from __future__ import annotations

import secrets
import shutil
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, Route, expect, sync_playwright

import emulator
from admin_client import ADMIN_URL, ADMIN_URL_2, CONVERGENCE_S, Admin, client, mcp_tools, script_key, wait_until

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / ".run" / "admin-ui"
CHROMIUM = "/usr/bin/chromium"
# The emulator serves one request per function at a time, and the machine may be busy: generous waits.
expect.set_options(timeout=30_000)
# What works on this kind of machine (no network beyond loopback): no background connections at all.
FLAGS = ["--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def keys():
    admin_key = script_key("gateway:admin")
    user_key = script_key("tool:call")
    with client() as http:
        wait_until(lambda: Admin(http, ADMIN_URL, admin_key).call("GET", "/status").status_code == 200, 30, "admin key")
        wait_until(lambda: mcp_tools(http, ADMIN_URL_2, user_key) is not None, 30, "user key")
    return admin_key, user_key


@pytest.fixture(scope="module")
def browser():
    SHOTS.mkdir(parents=True, exist_ok=True)
    profile = tempfile.mkdtemp(prefix="admin-ui-chromium-")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=FLAGS, viewport={"width": 1400, "height": 1000}
        )
        context.route("**/*", resend_emulator_failures)
        yield context
        context.close()
    shutil.rmtree(profile, ignore_errors=True)


def resend_emulator_failures(route: Route) -> None:
    """The clients' rule (emulator.py) for what the page loads: a response `cargo lambda watch` lost (its own
    text/plain 500) is fetched again, at most twice, and counted; any other answer reaches the page as it came.
    A browser cannot do this itself, and a lost `app.js` left the page without its script."""
    for attempt in range(emulator.ATTEMPTS):
        response = route.fetch()
        lost = emulator.is_lost(response.status, response.headers.get("content-type", ""), response.body())
        if not lost or attempt == emulator.ATTEMPTS - 1:
            break
        emulator.resent += 1
    route.fulfill(response=response)


@pytest.fixture
def page(browser, keys) -> Page:
    page = browser.new_page()
    errors: list[str] = []  # uncaught exceptions and dialogs: a script that ran where it must not
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on("dialog", lambda d: (errors.append(f"dialog: {d.message}"), d.dismiss()))
    # What the page loaded, for a failure's message: a script that never ran says why here.
    loads: list[str] = []
    page.on("response", lambda r: loads.append(f"{r.status} {r.request.method} {r.url}"))
    page.on("requestfailed", lambda r: loads.append(f"failed {r.method} {r.url}: {r.failure}"))
    page.goto(f"{ADMIN_URL}/admin")
    # The script has run (its handlers are attached) once it shows the sign-in page.
    try:
        expect(page.locator("body")).to_have_attribute("data-loaded", "signin")
    except AssertionError as failure:
        raise AssertionError(f"{failure}\npage errors: {errors}\nloads: {loads}") from None
    yield page
    page.close()
    assert not errors, errors


def sign_in(page: Page, key: str) -> None:
    page.fill("#signin-key", key)
    page.click("#signin-form button[type=submit]")
    expect(page.locator("#nav")).to_be_visible()
    expect(page.locator("body")).to_have_attribute("data-loaded", "backends")


def go(page: Page, name: str) -> None:
    page.click(f"nav button[data-page={name}]")
    expect(page.locator("body")).to_have_attribute("data-loaded", name)


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def add_backend(page: Page, entry: str) -> None:
    go(page, "backends")
    page.click("#backend-new")
    page.fill("#backend-json", entry)
    page.click("#backend-save")
    expect(page.locator("#message")).to_have_class("ok")


def test_sign_in_keeps_the_key_in_session_storage_only(page, keys):
    shot(page, "signin")
    bad = page.locator("#signin-key")
    bad.fill("mcpgw_" + "B" * 43)
    page.click("#signin-form button[type=submit]")
    expect(page.locator("#message")).to_have_class("error")
    expect(page.locator("#nav")).to_be_hidden()
    sign_in(page, keys[0])
    assert page.evaluate("sessionStorage.getItem('mcpgw-admin-key')") == keys[0]
    assert page.evaluate("document.cookie") == ""
    assert keys[0] not in page.url and page.evaluate("localStorage.length") == 0
    csp = page.evaluate("fetch('/admin').then(r => r.headers.get('content-security-policy'))")
    assert "default-src 'self'" in csp and "'unsafe-inline'" not in csp
    shot(page, "backends")


def test_add_a_backend_see_its_tools_and_disable_one(page, keys):
    admin_key, user_key = keys
    sign_in(page, admin_key)
    bid = f"ui{secrets.token_hex(3)}"
    add_backend(page, f'{{"id": "{bid}", "url": "http://127.0.0.1:3002/mcp", "timeoutMs": 10000}}')
    expect(page.locator(f"tr[data-backend={bid}]")).to_contain_text("stored")
    page.click(f"button[data-action=test][data-id={bid}]")
    expect(page.locator("#backend-test")).to_contain_text('"status": "up"')
    shot(page, "backends-added")

    go(page, "tools")
    page.fill("#tools-query", bid)
    page.click("#tools-form button[type=submit]")
    row = page.locator(f"tr[data-tool={bid}_add]")
    expect(row).to_contain_text("Add two integers")
    expect(row).to_contain_text("yes")
    shot(page, "tools")
    with client() as http:
        wait_until(lambda: f"{bid}_add" in mcp_tools(http, ADMIN_URL_2, user_key), CONVERGENCE_S, "added tool listed")
        page.click(f"button[data-tool={bid}_add]")
        expect(page.locator(f"tr[data-tool={bid}_add]")).to_contain_text("no")
        wait_until(lambda: f"{bid}_add" not in mcp_tools(http, ADMIN_URL_2, user_key), CONVERGENCE_S, "tool gone")
        assert f"{bid}_echo" in mcp_tools(http, ADMIN_URL_2, user_key)
    shot(page, "tools-disabled")

    go(page, "backends")
    page.click(f"button[data-action=toggle][data-id={bid}]")
    expect(page.locator(f"tr[data-backend={bid}]")).to_contain_text("false")
    page.click(f"button[data-action=delete][data-id={bid}]")
    expect(page.locator(f"tr[data-backend={bid}]")).to_have_count(0)


def test_create_and_revoke_a_key(page, keys):
    sign_in(page, keys[0])
    go(page, "keys")
    name = f"browser-made-{secrets.token_hex(3)}"
    page.fill("#key-name", name)
    page.fill("#key-scopes", "tool:demo_add")
    page.fill("#key-expires", "7d")
    page.click("#key-form button[type=submit]")
    expect(page.locator("#key-created")).to_be_visible()
    key = page.text_content("#key-value")
    assert key and key.startswith("mcpgw_")
    shot(page, "keys-created")
    with client() as http:
        wait_until(lambda: mcp_tools(http, ADMIN_URL_2, key) == {"demo_add"}, CONVERGENCE_S, "browser-made key works")
        key_id = page.locator("tr", has_text=name).get_attribute("data-key")
        page.click(f"button[data-key={key_id}]")
        expect(page.locator(f"tr[data-key={key_id}]")).to_contain_text("revoked")
        wait_until(lambda: mcp_tools(http, ADMIN_URL_2, key) is None, CONVERGENCE_S, "revoked key refused")
    shot(page, "keys-revoked")
    go(page, "health")
    expect(page.locator("#health-rows")).to_contain_text("demo")
    shot(page, "health")
    go(page, "audit")
    expect(page.locator("#audit-rows")).to_contain_text("key.revoke")
    shot(page, "audit")


def test_a_hostile_tool_description_is_shown_as_text_and_never_runs(page, keys):
    sign_in(page, keys[0])
    bid = f"xss{secrets.token_hex(3)}"
    add_backend(page, f'{{"id": "{bid}", "url": "http://127.0.0.1:3015/mcp", "timeoutMs": 10000}}')
    go(page, "tools")
    page.fill("#tools-query", bid)
    page.click("#tools-form button[type=submit]")
    row = page.locator(f"tr[data-tool={bid}_trap]")
    expect(row).to_contain_text("<img src=x onerror=")
    expect(row).to_contain_text("<script>window.__xss='script'")
    # Shown as text: no element was made from it, nothing ran.
    assert page.locator("#tools-rows img, #tools-rows script, #tools-rows svg, #tools-rows b").count() == 0
    assert page.evaluate("window.__xss") is None
    assert page.title() != "XSS"
    go(page, "backends")
    page.click(f"button[data-action=test][data-id={bid}]")
    expect(page.locator("#backend-test")).to_contain_text('"status": "up"')
    go(page, "tools")
    page.fill("#tools-query", "trap")
    page.click("#tools-form button[type=submit]")
    expect(page.locator(f"tr[data-tool={bid}_trap]")).to_be_visible()
    page.wait_for_timeout(500)  # an onerror would have fired by now
    assert page.evaluate("window.__xss") is None and page.title() != "XSS"
    shot(page, "tools-hostile")
    with client() as http:
        Admin(http, ADMIN_URL, keys[0]).ok("DELETE", f"/backends/{bid}")

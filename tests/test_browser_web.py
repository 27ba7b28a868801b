"""The control room in a real headless browser: Debian's chromium, driven by playwright
(``executable_path=/usr/bin/chromium``, no browser download), against ``mcp-optimizer run`` on
the embedded simulator. Checks through the CLI (``status``, ``history``) and the node's gRPC
interface what each click did. Screenshots go to ``$ARTIFACTS_DIR`` (default
``var/artifacts``). Waits poll with deadlines of tens of seconds, never fixed sleeps."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest
from service_support import cli, http_url, running_service

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
WAIT_MS = 60_000
ROOT = Path(__file__).resolve().parents[1]


def artifacts() -> Path:
    path = Path(os.environ.get("ARTIFACTS_DIR") or ROOT / "var" / "artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


def poll(what, fn, deadline_s: float = 90.0):
    """``fn()`` until it returns something true; fails naming ``what`` after the deadline."""
    end = time.monotonic() + deadline_s
    while True:
        got = fn()
        if got:
            return got
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.25)


def jcli(env, *args):
    r = cli(env, *args, "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} missing: run `bash scripts/system-deps` (Debian's chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.fail("playwright missing: pip install -c constraints.txt -e '.[test]'")
    tmp = tmp_path_factory.mktemp("web")
    with running_service(tmp) as (env, proc):
        url = http_url(env)
        import httpx

        # the first cycle (at start) has journaled decisions for every channel
        poll("the first cycle's channels", lambda: httpx.get(
            f"{url}/api/v1/channels", timeout=30).json()["total"] > 0, 120)
        yield env, url, proc


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT_MS)  # expectations poll up to this long
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, request):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = ctx.new_page()
    pg.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    pg.console_errors = errors  # type: ignore[attr-defined]
    yield pg
    ctx.close()


def shot(pg, name: str) -> None:
    pg.screenshot(path=str(artifacts() / f"{name}.png"), full_page=True)


def test_overview_loads_with_data_and_works_on_a_phone(service, page, browser):
    from playwright.sync_api import expect

    env, url, _ = service
    page.goto(url + "/")
    expect(page.locator("h1")).to_have_text("Overview")
    expect(page.locator("#mode")).to_contain_text("shadow")
    revenue = page.locator("table.t").first.locator("tbody tr")
    expect(revenue).to_have_count(3)  # 24h, 7d, 30d
    assert re.search(r"\d", revenue.nth(2).inner_text())
    assert "channels" in page.locator(".node").inner_text()
    assert int(page.locator(".node").inner_text().split(" · ")[1].split()[0]) > 0
    assert page.locator("svg.plot").count() >= 3
    shot(page, "overview")
    page.goto(url + "/channels")
    rows = page.locator("#channels tbody tr")
    expect(rows.first).to_be_visible()
    assert rows.count() > 0
    shot(page, "channels")
    # sortable: by fee, descending
    page.goto(url + "/channels?sort=fee&desc=1")
    fees = [int(t.split()[0]) for t in page.locator("#channels tbody tr td:nth-child(5)")
            .all_inner_texts()]
    assert fees == sorted(fees, reverse=True)
    first = page.locator("#channels tbody tr td a").first
    first.click()
    expect(page.locator("h1")).to_contain_text("Channel ")
    assert page.locator("svg.plot").count() == 4
    expect(page.locator("#failures")).to_contain_text("failed HTLCs, recent window: ")
    shot(page, "channel")
    for path, name, title in (("/journal", "journal", "Journal"), ("/cycles", "cycles", "Cycles"),
                              ("/shadow", "shadow", "Shadow report"),
                              ("/policy", "policy", "Policy")):
        page.goto(url + path)
        expect(page.locator("h1")).to_have_text(title)
        shot(page, name)
    assert page.locator("#policy tbody tr").count() > 40  # every value, with its source
    expect(page.locator("#policy")).to_contain_text("default")
    page.goto(url + "/cycles")
    expect(page.locator("#cycles")).to_contain_text("ingestion")  # stage durations
    assert page.console_errors == []
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    p2 = phone.new_page()
    p2.goto(url + "/")
    width = p2.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, f"the overview is {width}px wide on a 390px phone"
    p2.screenshot(path=str(artifacts() / "overview-phone.png"), full_page=True)
    phone.close()


def test_a_bad_policy_edit_shows_the_error_beside_the_field_and_saves_nothing(service, page):
    from playwright.sync_api import expect

    env, url, _ = service
    data = Path(env["MCP_DATA_DIR"])
    page.goto(url + "/policy")
    field = page.locator('input[name="bounds.max_fee_rate_ppm"]')
    field.fill("-5")
    page.locator('#policy-form button[type="submit"]').click()
    err = page.locator('.err[data-for="bounds.max_fee_rate_ppm"]')
    expect(err).to_contain_text("bounds.max_fee_rate_ppm")
    expect(err).to_contain_text("-5")
    shot(page, "policy-bad-edit")
    assert not (data / "policy.page.yml").exists()
    import httpx

    assert httpx.get(url + "/api/v1/policy", timeout=30).json()["changes"] == []
    # the refused POST is the only console error: the browser reports its 400 response
    assert all("400" in e for e in page.console_errors), page.console_errors
    assert len(page.console_errors) <= 1


def test_a_good_edit_is_journaled_and_used_by_the_next_cycle(service, page):
    from playwright.sync_api import expect

    env, url, _ = service
    import httpx

    chans = httpx.get(url + "/api/v1/channels", timeout=30).json()["channels"]
    scid = chans[0]["scid"]
    before = jcli(env, "history", "--cycles")
    page.goto(f"{url}/channels/{scid}")
    page.locator('#override-form input[value="exclude"]').check()
    page.locator('#override-form input[name="note"]').fill("kept by hand")
    page.locator('#override-form button[type="submit"]').click()
    expect(page.locator("#flash")).to_contain_text("journaled")
    expect(page.locator("#override-now")).to_contain_text("excluded from automation")
    policy = httpx.get(url + "/api/v1/policy", timeout=30).json()
    [change] = policy["changes"]
    assert change["by"] == "web" and change["keys"][0]["key"] == f"channels.{scid}"
    assert "exclude" in change["keys"][0]["new"] and change["keys"][0]["old"] == ""
    assert (Path(env["MCP_DATA_DIR"]) / "policy.page.yml").exists()
    # the next cycle, asked from the page, decides the channel with the override
    page.goto(url + "/")
    page.locator('button[data-act="evaluate-now"]').click()
    expect(page.locator("#flash")).to_contain_text("cycle")
    n_before = len(before) if isinstance(before, list) else len(before.get("cycles", []))

    def decided():
        cycles = jcli(env, "history", "--cycles")
        rows = cycles if isinstance(cycles, list) else cycles.get("cycles", [])
        if len(rows) <= n_before:
            return None
        d = httpx.get(f"{url}/api/v1/channels/{scid}", timeout=30).json()["decisions"][0]
        return d if d["decision"]["override"] else None

    d = poll("a cycle deciding with the override", decided)
    assert d["decision"]["kind"] == "NO_ACTION"
    assert d["decision"]["override"].startswith("excluded from automation")
    page.goto(f"{url}/channels/{scid}")
    expect(page.locator(".why").first).to_contain_text("per-channel override")
    shot(page, "channel-override")
    # undone from the policy page
    page.goto(url + "/policy")
    page.locator('button[data-act="policy-undo"]').first.click()
    expect(page.locator("#flash")).to_contain_text("undoes #1")
    assert not (Path(env["MCP_DATA_DIR"]) / "policy.page.yml").exists()
    assert page.console_errors == []


def test_pause_from_the_page_shows_in_status_and_resume_lifts_it(service, page):
    from playwright.sync_api import expect

    env, url, _ = service
    page.goto(url + "/")
    page.locator("#pause-reason").fill("maintenance from the page")
    page.locator('button[data-act="pause"]').click()
    expect(page.locator("#pause-state")).to_contain_text("maintenance from the page")
    status = poll("status paused", lambda: (lambda s: s if s["pause"]["paused"] else None)(
        jcli(env, "status")))
    assert "web" in status["pause"]["reason"] and "maintenance" in status["pause"]["reason"]
    shot(page, "paused")
    page.locator('button[data-act="resume"]').click()
    expect(page.locator("#pause-state")).to_contain_text("running")
    poll("status resumed", lambda: not jcli(env, "status")["pause"]["paused"])
    assert page.console_errors == []


class Node:
    """The embedded simulator's node over its gRPC interface, with its own credentials (as an
    operator changing a fee by hand would)."""

    def __init__(self, url: str, data: Path) -> None:
        import httpx

        from mcp_optimizer.providers.lnd.client import LndClient
        from mcp_optimizer.providers.lnd.settings import LndSettings

        node = httpx.get(url + "/api/v1/overview", timeout=30).json()["node"]
        sim = data / "simulator"
        self.client = LndClient(LndSettings(host=node.rsplit(" at ", 1)[1],
                                            tls_cert_path=sim / "tls.cert",
                                            macaroon_path=sim / "admin.macaroon"))

    def fee_rate(self, chan_id: int) -> int:
        return self.client.get_policy(chan_id).fee_rate_ppm

    def set_fee_rate(self, chan_id: int, point: str, ppm: int) -> None:
        import msgspec

        old = self.client.get_policy(chan_id)
        self.client.update_policy(point, msgspec.structs.replace(old, fee_rate_ppm=ppm))


def test_going_live_then_a_rollback_clicked_is_in_history_and_on_the_node(service, page):
    from playwright.sync_api import expect

    env, url, _ = service
    data = Path(env["MCP_DATA_DIR"])
    page.goto(url + "/")
    page.locator('button[data-mode="live"]').click()
    expect(page.locator("#live-confirm")).to_be_visible()
    expect(page.locator("#next-cycle")).to_contain_text("fee change(s) of")
    shot(page, "live-confirm")
    page.locator('button[data-act="mode-live-confirm"]').click()
    expect(page.locator("#mode-badge")).to_have_text("live")
    assert jcli(env, "status")["mode"] == "live"
    modes = cli(env, "history", "--modes")
    assert "web" in modes.stdout, modes.stdout
    # someone changes a fee on the node by hand; the next cycle journals it as external
    import httpx

    row = httpx.get(url + "/api/v1/channels", timeout=30).json()["channels"][-1]
    node = Node(url, data)
    try:
        before = node.fee_rate(row["chan_id"])
        node.set_fee_rate(row["chan_id"], row["channel_point"], before + 37)
        page.locator('button[data-act="evaluate-now"]').click()
        expect(page.locator("#flash")).to_contain_text("cycle")

        def external():
            rows = jcli(env, "history", "--origin", "external", "--channel", row["scid"])
            return rows[-1] if rows else None

        change = poll("the hand-made change journaled as external", external, 120)
        cid = change["change_id"]
        assert change["new_policy"]["fee_rate_ppm"] == before + 37
        # rolled back from the journal page
        page.goto(url + "/journal?origin=external")
        page.locator(f'#change-{cid} button[data-act="rollback"]').click()
        expect(page.locator("#flash")).to_contain_text("rollback journaled")

        def rolled_back():
            rows = jcli(env, "history", "--origin", "rollback")
            done = [r for r in rows if cid in r["rolls_back"] and r["state"] == "verified"]
            return done[0] if done else None

        rb = poll("the rollback verified in history", rolled_back)
        assert rb["new_policy"]["fee_rate_ppm"] == before
        assert node.fee_rate(row["chan_id"]) == before  # on the node
    finally:
        node.client.close()
    page.goto(url + "/journal")
    expect(page.locator("#changes")).to_contain_text(f"rollback of #{cid}")
    shot(page, "journal-rollback")
    assert page.console_errors == []



def test_the_mcp_token_stays_off_the_page_until_show_is_clicked(service, page):
    from playwright.sync_api import expect

    env, url, _ = service
    token = (Path(env["MCP_DATA_DIR"]) / "mcp-token").read_text().strip()
    assert len(token) >= 16
    page.goto(url + "/")
    expect(page.locator("#connect")).to_be_visible()
    assert token not in page.content()  # neither in the HTML nor in the DOM
    shown = page.locator("#mcp-token")
    assert token not in shown.inner_text()
    page.locator("#mcp-show").click()
    expect(shown).to_have_text(token)
    expect(page.locator("#mcp-config")).to_contain_text(token)
    expect(page.locator("#mcp-show")).to_have_text("Hide")
    page.locator("#mcp-show").click()
    expect(page.locator("#mcp-show")).to_have_text("Show")
    expect(shown).not_to_have_text(token)
    assert token not in page.content()
    assert not page.console_errors, page.console_errors

"""The real web app in Debian's Chromium, driven by Playwright (never `playwright install`)."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

import pytest

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ZORBLAX = ("# Zorblax protocol\n\n## Dose\n\nThe Zorblax protocol gives three drops of saline "
           "every hour to patients after eye surgery.\n")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A launcher for fresh Chromium profiles (one per signed-in user)."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run must `apt-get install chromium`.")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    contexts: list[Any] = []
    with sync_playwright() as p, tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        def open_page(name: str) -> Any:
            ctx = p.chromium.launch_persistent_context(
                f"{tmp}/{name}", executable_path=CHROMIUM, headless=True, args=ARGS,
                viewport={"width": 1280, "height": 1000})
            ctx.set_default_timeout(120_000)
            contexts.append(ctx)
            return ctx.new_page()
        yield open_page
        for ctx in contexts:
            ctx.close()


def sign_in(page: Any, url: str, user: str, password: str) -> None:
    page.goto(url)
    page.get_by_label("username").fill(user)
    page.get_by_label("password").fill(password)
    page.get_by_role("button", name="Login").click()


def test_wrong_password_refused(live: Any, browser: Any) -> None:
    page = browser("intruder")
    sign_in(page, live.url, "alice", "not-her-password")
    page.get_by_text("Incorrect credentials", exact=False).wait_for()
    assert page.locator("#mq-who").count() == 0
    page.screenshot(path=str(SHOTS / "login-refused.png"))


def test_staff_and_admin_flow(live: Any, browser: Any, tmp_path: Path) -> None:
    admin = browser("root")
    sign_in(admin, live.url, "root", "root-pass-333")
    admin.get_by_text("Signed in as root").wait_for()
    # an admin uploads a document and watches it being indexed
    admin.get_by_role("tab", name="Admin").click()
    doc = tmp_path / "zorblax.md"
    doc.write_text(ZORBLAX, encoding="utf-8")
    admin.locator("#mq-upload input[type=file]").set_input_files(str(doc))
    admin.get_by_text("zorblax.md").first.wait_for()
    admin.locator("#mq-ingest").click()
    admin.locator("#mq-ingest-msg").get_by_text("✅ zorblax.md").wait_for()
    admin.locator("#mq-ingest-status").get_by_text("done 100%").wait_for()
    admin.screenshot(path=str(SHOTS / "admin-upload.png"), full_page=True)

    # a staff member picks a workflow, asks, and watches the answer stream in
    page = browser("alice")
    sign_in(page, live.url, "alice", "alice-pass-1")
    page.get_by_text("Signed in as alice").wait_for()
    assert page.get_by_role("tab", name="Admin").count() == 0  # staff see no admin tab
    page.get_by_label("Medication question").check()
    page.locator("#mq-question textarea").fill("What does the Zorblax protocol give after eye surgery?")
    # The browser records every text the answer shows (a MutationObserver in the page): polling
    # from here missed the intermediate states of a short answer on a loaded machine.
    page.evaluate("""() => {
        window.mqSeen = [];
        new MutationObserver(() => {
            const bots = document.querySelectorAll('#mq-chat .bot');
            const text = bots.length ? bots[bots.length - 1].innerText.trim() : '';
            if (text && window.mqSeen[window.mqSeen.length - 1] !== text) window.mqSeen.push(text);
        }).observe(document.querySelector('#mq-chat'), {childList: true, subtree: true, characterData: true});
    }""")
    page.locator("#mq-send").click()
    page.locator("#mq-citations details").first.wait_for(timeout=300_000)
    seen: list[str] = page.evaluate("() => window.mqSeen")
    assert len(seen) >= 2, f"the answer did not stream: {seen}"
    cites = page.locator("#mq-citations")
    assert "Zorblax protocol" in cites.inner_text()
    assert cites.locator("mark").count() > 0  # the question's words are highlighted
    assert "answered by" in page.locator("#mq-route").inner_text()
    page.screenshot(path=str(SHOTS / "chat-answer.png"), full_page=True)

    # feedback is stored with the answer's audit record
    page.locator("#mq-comment textarea").fill("clear and cited")
    page.locator("#mq-up").click()
    page.locator("#mq-feedback-msg").get_by_text("feedback saved").wait_for()
    rows = live.services.audit().history("alice")
    assert {"kind": "feedback", "thumbs": 1, "comment": "clear and cited"}.items() <= rows[-1].items()

    # the Chinese switch relabels the UI
    page.get_by_label("中文").check()
    page.get_by_role("button", name="提问").wait_for()
    page.screenshot(path=str(SHOTS / "chat-zh.png"), full_page=True)

    # another user's history page does not show alice's question
    bob = browser("bob")
    sign_in(bob, live.url, "bob", "bob-pass-22")
    bob.get_by_role("tab", name="History").click()
    bob.locator("#mq-history-refresh").click()
    bob.wait_for_timeout(1500)
    assert "Zorblax" not in bob.locator("#mq-history").inner_text()
    page.get_by_role("tab", name="历史记录").click()
    page.locator("#mq-history").get_by_text("Zorblax", exact=False).first.wait_for()

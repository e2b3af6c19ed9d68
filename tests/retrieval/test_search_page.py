"""The search page in a real browser (Debian's headless Chromium driven by Selenium): type a query,
see ranked videos with moments, and a player that starts at the first one's moment."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from support.browser import console_errors, needs_chromium

pytestmark = needs_chromium
# Queries to try: the page test needs one whose best moment starts after 0 s (a player that never
# seeks would pass at 0); which one that is depends on the random test model.
QUERIES = ("a red bar sliding right", "a blue screen", "a yellow screen", "something moving", "a bright flash", "the end of the clip")
EVENTS = 'metadata["kind"] == "event"'


def test_a_query_shows_ranked_videos_and_plays_the_first_moment(browser, shared_space_gateway, event_videos, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def best_hits(text: str) -> list[dict]:
        request = {"text": text, "top_k": 10, "moments": True, "filter": EVENTS}
        return httpx.post(f"{shared_space_gateway.http_url}/v1/search", json=request, timeout=60).json()["hits"]

    query_text, expected = next(((text, hits) for text in QUERIES if (hits := best_hits(text))[0]["moment_start_seconds"] > 0), ("", []))
    assert query_text, "no query's best moment starts after 0 s"
    browser.get(f"{shared_space_gateway.http_url}/")
    query = WebDriverWait(browser, 30).until(lambda driver: driver.find_element(By.ID, "query"))
    # Other tests index videos from bytes into the same collection: look among the files only.
    browser.execute_script("document.querySelector('#filter').value = arguments[0]", EVENTS)
    query.send_keys(query_text)
    browser.find_element(By.CSS_SELECTOR, "#search-form button").click()
    rows = WebDriverWait(browser, 60).until(lambda driver: driver.find_elements(By.CSS_SELECTOR, "#results tbody tr"))
    moments = [row.find_element(By.CSS_SELECTOR, "td.moment").text for row in rows]
    assert moments[0].endswith(" s"), moments

    assert [row.get_attribute("data-video-id") for row in rows] == [hit["video_id"] for hit in expected]
    start = expected[0]["moment_start_seconds"]
    current = WebDriverWait(browser, 30).until(lambda driver: driver.execute_script("return document.querySelector('#player').currentTime"))
    assert current == pytest.approx(start, abs=0.05)
    assert browser.execute_script("return document.querySelector('#player').src").endswith(f"uri={event_videos[expected[0]['video_id']].name}")
    assert browser.find_element(By.ID, "upload-panel").is_displayed(), "no token needed here: every scope, so the upload form shows"

    screenshot = tmp_path / "search-page.png"
    assert browser.save_screenshot(str(screenshot)) and screenshot.stat().st_size > 10_000
    assert console_errors(browser) == []

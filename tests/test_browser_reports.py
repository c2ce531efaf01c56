"""The Reports page in a real Chromium: nothing refused by the CSP, readable at phone width
and in print (screenshots in test-artifacts/screenshots/)."""

from __future__ import annotations

import pytest

from tests.test_browser_pages import SCREENSHOTS, Session
from tests.test_reports import history  # noqa: F401  (the known history)

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [1280, 390])
def test_the_reports_page_in_a_browser(live_server, browser, history, width):  # noqa: F811
    recruiter = Session(browser, live_server, width)
    recruiter.login(history["recruiter"])
    page = recruiter.visit("/reports?from=2026-11-01&to=2026-11-30", "reports")
    assert page.get_by_role("heading", name="Promises kept").is_visible()
    assert page.get_by_role("img", name="Promise-kept rate per week (the numbers are in the table below)").is_visible()
    assert page.get_by_role("table", name="Promises per week (weeks begin on the period's first day)").count() == 1
    assert recruiter.fits_the_width(), "the reports page scrolls sideways"
    # Every chart fits the page's width.
    for box in page.locator("svg.chart-svg").evaluate_all("els => els.map(e => e.getBoundingClientRect().right)"):
        assert box <= width
    page.emulate_media(media="print")
    assert not page.locator(".report-filters").is_visible()
    page.screenshot(path=str(SCREENSHOTS / f"reports-print-{width}.png"), full_page=True)
    assert recruiter.errors == []

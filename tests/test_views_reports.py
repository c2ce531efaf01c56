"""The Reports page and its CSV exports, over the known history of tests/test_reports.py."""

from __future__ import annotations

import csv
import io
import re

import pytest

from hiring import services
from hiring.views import reports as report_views
from tests.test_reports import REPORT_NOW, berlin, history  # noqa: F401  (the known history)

NOVEMBER = "from=2026-11-01&to=2026-11-30"


@pytest.fixture(autouse=True)
def report_clock(monkeypatch):
    monkeypatch.setattr(report_views, "utcnow", lambda: REPORT_NOW)


def rows_of(response) -> list[list[str]]:
    text = response.get_data().decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def figures_of(page: str) -> str:
    """The page's figures (past its header and form, whose CSRF token and fields differ)."""
    return page[page.index('<section class="report-section"'):]


def test_the_page_for_a_recruiter(history, login):  # noqa: F811
    client = login(history["recruiter"])
    response = client.get(f"/reports?{NOVEMBER}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<a href="/reports" aria-current="page">Reports</a>' in html  # in the nav
    assert "2 dates passed in silence" in html
    assert re.search(r"Kept rate<strong>70\.0%</strong>", html)
    # Every chart is an image with a title, and a table beside it; no script and no inline style.
    assert html.count('role="img"') == html.count("<title id=") == 6  # weeks, 3 stages, funnel, sources
    assert "<caption>Promises per week" in html and "<caption>Funnel</caption>" in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html) and " style=" not in html
    # Overdue now links to the board filtered by owner and by position.
    assert f'href="/board?owner={history["recruiter"].id}"' in html
    assert f'href="/board?position={history["p2"].id}"' in html
    assert '/reports/applications.csv?from=2026-11-01&amp;to=2026-11-30' in html


@pytest.mark.parametrize("role, status", [("manager", 200), ("admin", 200), ("interviewer", 403)])
def test_who_sees_the_reports(factory, login, role, status):
    client = login(factory.user(role))
    assert client.get("/reports").status_code == status
    assert client.get("/reports/funnel.csv").status_code == status
    nav = client.get("/").get_data(as_text=True)
    assert ('href="/reports"' in nav) == (status == 200)


def test_a_bad_date_is_a_field_error_and_the_default_stands_in(history, login):  # noqa: F811
    client = login(history["manager"])
    html = client.get("/reports?from=2026-02-30&to=2026-11-30").get_data(as_text=True)
    assert "“2026-02-30” is not a date: use YYYY-MM-DD." in html
    assert 'id="f-from" name="from" value="2026-02-30" aria-invalid="true"' in html
    html = client.get("/reports?from=2026-11-30&to=2026-11-01").get_data(as_text=True)
    assert "The first day must not be after the last day." in html
    assert client.get("/reports?position=abc").status_code == 200
    assert client.get("/reports/funnel.csv?to=nonsense").status_code == 400


def test_one_row_per_application_streamed(history, login):  # noqa: F811
    client = login(history["recruiter"])
    response = client.get(f"/reports/applications.csv?{NOVEMBER}")
    assert response.status_code == 200 and response.is_streamed
    assert response.content_type == "text/csv; charset=utf-8"
    assert 'filename="applications_2026-11-01_2026-11-30.csv"' in response.headers["Content-Disposition"]
    header, *rows = rows_of(response)
    assert header[:8] == ["application_id", "candidate", "position", "owner", "source", "stage", "outcome",
                          "applied_on"]
    assert [r[1] for r in rows] == ["A", "F", "B", "C", "D", "E"]  # by arrival; G came in October
    a = dict(zip(header, rows[0], strict=True))
    assert a == {
        "application_id": str(history["a"].id), "candidate": "A", "position": "Firmware", "owner": "Rita Recruiter",
        "source": "referral", "stage": "hired", "outcome": "hired", "applied_on": "2026-11-02",
        "first_interview_on": "2026-11-06", "debrief_decision_on": "2026-11-09", "second_interview_on": "2026-11-12",
        "offer_decision_on": "2026-11-14", "offer_answer_on": "2026-11-16", "closed_on": "2026-11-16",
        "promises_told": "4", "promises_kept": "4", "promises_moved": "0", "promises_broken": "0",
        "promises_withdrawn": "0",
        "promises": "2026-11-16 kept; 2026-11-13 kept; 2026-11-23 kept; 2026-11-19 kept",
    }
    c = dict(zip(header, rows[3], strict=True))
    assert (c["outcome"], c["promises"], c["promises_broken"]) == ("open", "2026-11-19 broken", "1")
    by_position = rows_of(client.get(f"/reports/applications.csv?{NOVEMBER}&position={history['p2'].id}"))
    assert [r[1] for r in by_position[1:]] == ["D", "E"]


def test_every_report_exports(history, login):  # noqa: F811
    client = login(history["recruiter"])
    for name in report_views.EXPORTS:
        response = client.get(f"/reports/{name}.csv?{NOVEMBER}")
        assert response.status_code == 200, name
        assert rows_of(response)[0], name
    assert rows_of(client.get(f"/reports/promises-by-week.csv?{NOVEMBER}")) == [
        ["week_from", "week_to", "told", "kept", "moved", "broken", "withdrawn", "open", "kept_rate"],
        ["2026-11-01", "2026-11-07", "0", "0", "0", "0", "0", "0", ""],
        ["2026-11-08", "2026-11-14", "2", "2", "0", "0", "0", "0", "1.0"],
        ["2026-11-15", "2026-11-21", "6", "3", "1", "2", "0", "0", "0.5"],
        ["2026-11-22", "2026-11-28", "3", "2", "0", "0", "1", "0", "1.0"],
        ["2026-11-29", "2026-11-30", "0", "0", "0", "0", "0", "0", ""],
    ]
    assert client.get("/reports/nothing.csv").status_code == 404


def test_a_cell_that_looks_like_a_formula_is_quoted(factory, login):
    recruiter = factory.user("recruiter")
    position = factory.position(owner=recruiter, title="=HYPERLINK(\"x\")")
    services.submit_application(position, name="+Ada Ümlaut", email="ada@example.org", actor=recruiter,
                                now=berlin(2026, 11, 20, 10, 0))
    header, row = rows_of(login(recruiter).get("/reports/applications.csv?from=2026-11-01&to=2026-11-30"))
    assert (row[1], row[2]) == ("'+Ada Ümlaut", "'=HYPERLINK(\"x\")")


def test_the_new_application_form_sets_the_source(factory, login):
    from hiring.extensions import db
    from hiring.models import Application

    recruiter = factory.user("recruiter")
    position = factory.position(owner=recruiter)
    client = login(recruiter)
    form = client.get("/candidates/new-application").get_data(as_text=True)
    assert '<option selected value="direct">Direct</option>' in form or \
        '<option value="direct" selected>Direct</option>' in form
    response = client.post("/candidates/new-application", data={
        "position_id": position.id, "name": "Ada", "email": "ada@example.org", "language": "en",
        "source": "referral"})
    assert response.status_code == 302
    assert db.session.scalar(db.select(Application.source)) == "referral"
    refused = client.post("/candidates/new-application", data={
        "position_id": position.id, "name": "Bo", "email": "bo@example.org", "language": "en",
        "source": "newspaper"})
    assert refused.status_code == 200
    assert "Not a valid choice" in refused.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(Application)) == 1


def test_the_page_reuses_its_figures_until_something_changes(history, login, factory, monkeypatch):  # noqa: F811
    client = login(history["recruiter"])
    built = []
    build = report_views.reports.rollup.build
    monkeypatch.setattr(report_views.reports.rollup, "build", lambda *a, **k: built.append(a) or build(*a, **k))
    first = client.get(f"/reports?{NOVEMBER}").get_data(as_text=True)
    # The figures (the header's CSRF token changes with the second).
    assert figures_of(client.get(f"/reports?{NOVEMBER}").get_data(as_text=True)) == figures_of(first)
    assert len(built) == 1  # the second visit reused the figures
    client.get("/reports?from=2026-10-01&to=2026-10-31")
    assert len(built) == 2  # other filters: their own figures
    factory.application(position=history["p2"])  # a recorded change
    client.get(f"/reports?{NOVEMBER}")
    assert len(built) == 3
    later = REPORT_NOW + report_views.timedelta(seconds=61)
    monkeypatch.setattr(report_views, "utcnow", lambda: later)
    client.get(f"/reports?{NOVEMBER}")
    assert len(built) == 4  # older than REPORTS_CACHE_SECONDS


def test_no_reuse_when_the_cache_is_off(history, login, app, monkeypatch):  # noqa: F811
    app.config["REPORTS_CACHE_SECONDS"] = 0
    client = login(history["recruiter"])
    built = []
    build = report_views.reports.rollup.build
    monkeypatch.setattr(report_views.reports.rollup, "build", lambda *a, **k: built.append(a) or build(*a, **k))
    client.get(f"/reports?{NOVEMBER}")
    client.get(f"/reports?{NOVEMBER}")
    assert len(built) == 2


def test_the_page_says_how_fresh_its_figures_are(history, login, app):  # noqa: F811
    """No rollup: computed now. After the job's refresh on the 24th: the same figures, as of
    then (company time)."""
    from hiring import reports
    from hiring.settings import get_policy

    app.config["REPORTS_CACHE_SECONDS"] = 0
    client = login(history["recruiter"])
    live = client.get(f"/reports?{NOVEMBER}").get_data(as_text=True)
    assert "Figures as of 25 November 2026, 12:00 (Europe/Berlin)" in live
    reports.rollup.refresh(REPORT_NOW - report_views.timedelta(days=1, hours=2), get_policy())
    rolled = client.get(f"/reports?{NOVEMBER}").get_data(as_text=True)
    assert "Figures as of 24 November 2026, 10:00 (Europe/Berlin)" in rolled

    assert figures_of(rolled) == figures_of(live)


def test_the_position_filter_lists_the_open_positions_and_the_chosen_one(history, login, factory):  # noqa: F811
    closed = factory.position(title="Retired role")
    services.close_position(closed, actor=closed.owner, now=REPORT_NOW)
    client = login(history["recruiter"])
    page = client.get(f"/reports?{NOVEMBER}").get_data(as_text=True)
    assert "Firmware</option>" in page and "Retired role" not in page
    chosen = client.get(f"/reports?{NOVEMBER}&position={closed.id}").get_data(as_text=True)
    assert f'<option selected value="{closed.id}">Retired role</option>' in chosen or \
        f'<option value="{closed.id}" selected>Retired role</option>' in chosen


@pytest.fixture
def searched(monkeypatch):
    """A company with more positions and owners than a list offers: search fields instead."""
    monkeypatch.setattr(report_views, "LIST_LIMIT", 1)


def test_past_the_list_limit_the_filters_are_search_fields(history, login, searched):  # noqa: F811
    client = login(history["recruiter"])
    page = client.get(f"/reports?{NOVEMBER}").get_data(as_text=True)
    assert 'type="search" id="f-position" name="position_q" value=""' in page
    assert 'type="search" id="f-owner" name="owner_q" value=""' in page
    assert "<option" not in page and 'name="position"' not in page
    assert 'data-suggest="/board/suggest/positions"' in page and 'data-suggest="/board/suggest/owners"' in page
    # A position found by its title reports exactly what its id reports.
    by_id = client.get(f"/reports?{NOVEMBER}&position={history['p2'].id}").get_data(as_text=True)
    by_title = client.get(f"/reports?{NOVEMBER}&position_q=hardware").get_data(as_text=True)
    assert figures_of(by_title) == figures_of(by_id) != figures_of(page)
    assert "· Hardware." in by_title and 'name="position_q" value="hardware"' in by_title
    assert f'<input type="hidden" name="position" value="{history["p2"].id}">' in by_id
    assert 'name="position_q" value="Hardware"' in by_id  # the chosen one's name, to edit
    # An owner by (part of) the email or the name.
    by_email = client.get(f"/reports?{NOVEMBER}&owner_q={history['other'].email}").get_data(as_text=True)
    by_owner_id = client.get(f"/reports?{NOVEMBER}&owner={history['other'].id}").get_data(as_text=True)
    assert figures_of(by_email) == figures_of(by_owner_id) and "· owner Robin Recruiter." in by_email


def test_a_search_that_matches_several_offers_them(history, login, searched, factory):  # noqa: F811
    client = login(history["recruiter"])
    page = client.get(f"/reports?{NOVEMBER}&owner_q=recruiter").get_data(as_text=True)
    assert "2 owners match “recruiter”; choose one:" in page and 'aria-invalid="true"' in page
    assert "Which owner?" in page
    for person in (history["recruiter"], history["other"]):  # links keep the period
        assert f'href="/reports?from=2026-11-01&amp;to=2026-11-30&amp;owner={person.id}">' \
               f'{person.name} · {person.email}</a>' in page
    unfiltered = client.get(f"/reports?{NOVEMBER}").get_data(as_text=True)
    assert figures_of(page) == figures_of(unfiltered)  # the default stands in
    missing = client.get(f"/reports?{NOVEMBER}&position_q=astronaut").get_data(as_text=True)
    assert "No position matches “astronaut”; the report is of every position." in missing
    # A search made of LIKE's wildcards matches them literally.
    assert "No position matches “%_”" in client.get(f"/reports?{NOVEMBER}&position_q=%25_").get_data(as_text=True)


def test_a_repeated_title_keeps_the_chosen_id(history, login, searched, factory):  # noqa: F811
    twin = factory.position(title="Hardware")
    client = login(history["recruiter"])
    both = client.get(f"/reports?{NOVEMBER}&position_q=Hardware").get_data(as_text=True)
    assert "2 positions match “Hardware”" in both  # two positions with exactly that title
    services.close_position(twin, actor=twin.owner, now=REPORT_NOW)  # told apart by status, listed last
    both = client.get(f"/reports?{NOVEMBER}&position_q=Hardware").get_data(as_text=True)
    assert both.index(f"position={history['p2'].id}") < both.index(f"position={twin.id}")
    assert f'position={twin.id}">Hardware · Engineering · closed</a>' in both
    kept = client.get(f"/reports?{NOVEMBER}&position={twin.id}&position_q=Hardware").get_data(as_text=True)
    chosen = client.get(f"/reports?{NOVEMBER}&position={twin.id}").get_data(as_text=True)
    assert figures_of(kept) == figures_of(chosen) and "matches" not in kept
    # The field emptied: no position, whatever id came beside it.
    cleared = client.get(f"/reports?{NOVEMBER}&position={twin.id}&position_q=").get_data(as_text=True)
    assert figures_of(cleared) == figures_of(client.get(f"/reports?{NOVEMBER}").get_data(as_text=True))


def test_past_the_live_limit_the_page_shows_overdue_now_until_the_rollup_is_built(history, login, app):  # noqa: F811
    from hiring import reports
    from hiring.settings import get_policy

    app.config["REPORTS_LIVE_LIMIT"] = 6  # 7 applications in the history
    client = login(history["recruiter"])
    page = client.get(f"/reports?{NOVEMBER}").get_data(as_text=True)
    assert "The figures are being prepared: the report-rollup job builds them within 15 minutes" in page
    assert "Overdue now</h2>" in page and 'href="/board?owner=' in page
    assert "Promises kept" not in page and "Figures as of" not in page
    export = client.get(f"/reports/funnel.csv?{NOVEMBER}")
    assert export.status_code == 503 and export.headers["Retry-After"] == "300"
    assert "being prepared" in export.get_data(as_text=True)
    reports.rollup.refresh(REPORT_NOW - report_views.timedelta(hours=1), get_policy())
    page = client.get(f"/reports?{NOVEMBER}").get_data(as_text=True)
    assert "Promises kept" in page and "being prepared" not in page

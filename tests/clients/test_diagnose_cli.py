"""`jepa diagnose` before any call is made (its options and time ranges), and the HTML report of a
diagnosis: both need no server. The command against a real gateway is tested in
tests/diagnostics/test_diagnosis_report_page.py."""

from __future__ import annotations

import html.parser
from dataclasses import replace
from datetime import datetime, timezone

import pytest

from jepa_client.cli import main
from jepa_client.cli_diagnose import time_range
from jepa_client.diagnosis import (
    Cluster,
    DuplicateGroup,
    IndexDiagnosis,
    MapPoint,
    NeighbourDistances,
    OutlierVideo,
    OutlierWindow,
    QueryCoverage,
    QueryGap,
    Spectrum,
    TimeRange,
    WindowRef,
)
from jepa_client.report_html import render_report
from jepa_client.results import ModelInfo

HOSTILE = '<script>alert("x")</script>&'


def unix(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1700000000:1700003600", TimeRange(1700000000, 1700003600)),
        ("2026-01-01:", TimeRange(unix("2026-01-01"), 0)),
        ("2026-01-01T10:00:00:2026-01-02T10:30", TimeRange(unix("2026-01-01T10:00:00"), unix("2026-01-02T10:30"))),
        ("2026-01-01T12:00+02:00:1767312000", TimeRange(unix("2026-01-01T10:00"), 1767312000)),
        (":1700000000", TimeRange(0, 1700000000)),
    ],
    ids=["unix-seconds", "open-end", "iso-with-colons", "offset-and-seconds", "open-start"],
)
def test_a_time_range_reads_unix_seconds_and_iso_datetimes_split_at_the_right_colon(text: str, expected: TimeRange) -> None:
    assert time_range(text) == expected


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--drift-reference", "yesterday:today", "--drift-current", "1:"], "argument --drift-reference: got 'yesterday:today', need START:END"),
        (["--drift-reference", "1:", "--drift-current", "1700000000"], "argument --drift-current: got '1700000000', need START:END"),
        (["--drift-reference", "1700003600:1700000000", "--drift-current", "1:"], "argument --drift-reference: got '1700003600:1700000000', need END after START"),
        (["--drift-reference", "1:2", "--drift-current", "nan:"], "argument --drift-current: got 'nan:'"),
        (["--drift-reference", "1:2"], "--drift-reference and --drift-current: give both or neither"),
        (["--duplicate-threshold", "1.5"], "argument --duplicate-threshold: got 1.5, need 0 to 1"),
        (["--max-rows", "-1"], "argument --max-rows: got -1, need >= 0"),
        (["--html", "/nonexistent/folder/report.html"], "--html: /nonexistent/folder: no such folder"),
    ],
    ids=["not-times", "no-colon", "end-before-start", "not-finite", "one-range-only", "threshold-above-1", "negative-count", "no-html-folder"],
)
def test_usage_errors_exit_2_naming_the_option_before_connecting(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--address", "127.0.0.1:1", "diagnose", *argv])
    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert message in err
    assert "Traceback" not in err and "UNAVAILABLE" not in err


def diagnosis_named(text: str) -> IndexDiagnosis:
    """A small diagnosis with `text` in every field a server fills from user data or model output."""
    return IndexDiagnosis(
        model=ModelInfo(text, "1", 4, text), collection=text, rows_total=10, rows_analyzed=10, sampled=False, videos_analyzed=2,
        spectrum=Spectrum(4, 2.5, (0.5, 0.3, 0.15, 0.05), 3), nearest_neighbours=NeighbourDistances((0.1,) * 7, (0.0, 0.5, 1.0), (4, 6)),
        duplicate_threshold=0.97, duplicates=(DuplicateGroup((text, "b.mp4"), 0.99),), outlier_neighbours=3,
        outlier_windows=(OutlierWindow(WindowRef(text, 0, 0.0, 1.0), 0.4),), outlier_videos=(OutlierVideo(text, 0.4, 1),),
        clusters=(Cluster(0, 8, 2, text, 0.9, 0.5, (text,)),), unclustered_windows=2,
        coverage=QueryCoverage(3, 0.2, (QueryGap((text,), 0.1, 0, text),), 2), drift=None,
        map=(MapPoint(0.0, 0.0, 0, False, text, 0), MapPoint(1.0, 1.0, -1, True, text, 1)), seconds=1.0, notes=(text,),
    )


class Elements(html.parser.HTMLParser):
    """The tags of a page and every address its attributes refer to."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.addresses: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.addresses += [value or "" for name, value in attrs if name in ("src", "href", "srcset", "action", "xlink:href")]


def test_the_report_escapes_ids_captions_queries_and_notes() -> None:
    page = render_report(diagnosis_named(HOSTILE))
    assert "script" not in Elements(page).tags
    assert HOSTILE not in page
    assert page.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;") >= 10


def test_the_report_refers_to_nothing_outside_itself() -> None:
    thumbnail = b"\x89PNG\r\n\x1a\n"
    page = render_report(replace(diagnosis_named("a.mp4"), outlier_videos=(OutlierVideo("a.mp4", 0.4, 1, thumbnail),)))
    addresses = Elements(page).addresses
    assert "data:image/png;base64,iVBORw0KGgo=" in addresses
    assert [address for address in addresses if not address.startswith(("data:", "#"))] == []
    assert "url(" not in page and "@import" not in page

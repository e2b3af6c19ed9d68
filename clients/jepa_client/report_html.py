"""`render_report`: an `IndexDiagnosis` as one self-contained HTML page, to be looked at rather
than read. Everything is inline (CSS, SVG drawn here, thumbnails as data: URIs) and there is no
script, so the page opens offline, from a mail attachment or an archive, and never fetches a thing."""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from jepa_client.diagnosis import Cluster, Drift, IndexDiagnosis, MapPoint, QueryCoverage, TimeRange

# Tableau 10: distinct at a glance; clusters past the tenth get hues spread by the golden angle.
PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#17becf")
UNCLUSTERED_COLOUR = "#c4c4c4"
OUTLIER_COLOUR = "#111111"
REFERENCE_COLOUR, CURRENT_COLOUR = "#9aa7b8", "#e15759"
# Bar-chart x labels at most this many pixels apart, so long axes (64 directions) stay legible.
LABEL_SPACING_PX = 44

CSS = """
:root { color-scheme: light; --ink: #1d2330; --muted: #6b7280; --line: #e3e6ec; --panel: #f7f8fa; --good: #2e7d32; --bad: #c62828; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #fff; }
main { max-width: 1200px; margin: 0 auto; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 0 0 12px; }
section { border-top: 1px solid var(--line); padding: 20px 0; }
nav a { margin-right: 14px; color: var(--muted); } .muted { color: var(--muted); }
.meta span { margin-right: 18px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; background: #fff3cd; color: #7a5b00; }
.notes { background: #fff8e6; border-left: 4px solid #f0b429; padding: 8px 12px 8px 28px; margin: 12px 0; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 10px; margin: 16px 0 8px; }
.tile { background: var(--panel); border-radius: 8px; padding: 10px 12px; }
.tile b { display: block; font-size: 22px; } .tile.bad b { color: var(--bad); } .tile.good b { color: var(--good); }
.map { display: grid; grid-template-columns: minmax(0, 2fr) minmax(220px, 1fr); gap: 16px; align-items: start; }
svg { width: 100%; height: auto; background: var(--panel); border-radius: 8px; }
svg text { font: 11px system-ui, sans-serif; fill: var(--muted); }
.legend { list-style: none; padding: 0; margin: 0; } .legend li { margin: 3px 0; }
.swatch { display: inline-block; width: 11px; height: 11px; border-radius: 2px; margin-right: 6px; vertical-align: -1px; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 20px; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; color: var(--muted); font-weight: 600; } .number:first-child { width: 3em; } .number { white-space: nowrap; text-align: right; font-variant-numeric: tabular-nums; }
.score { display: inline-block; width: 120px; height: 8px; background: var(--line); border-radius: 4px; margin-right: 8px; vertical-align: 1px; }
.score i { display: block; height: 100%; background: var(--bad); border-radius: 4px; }
img.thumb { height: 64px; border-radius: 4px; margin: 2px 6px 2px 0; vertical-align: middle; }
.verdict { font-size: 20px; font-weight: 700; } .verdict.bad { color: var(--bad); } .verdict.good { color: var(--good); }
ul.plain { margin: 0; padding-left: 18px; }
figure.video { display: inline-block; margin: 0 14px 4px 0; vertical-align: top; } figure.video img.thumb { display: block; margin: 0 0 2px; }
"""


@dataclass(frozen=True)
class _Series:
    name: str
    values: Sequence[float]
    colour: str


def _text(value: object) -> str:
    return html.escape(str(value))


def _format_count(value: int) -> str:
    return f"{value:,}"


def _cluster_colour(cluster_id: int) -> str:
    """The colour of a cluster on the map, in the legend and in the tables (-1: unclustered)."""
    if cluster_id < 0:
        return UNCLUSTERED_COLOUR
    if cluster_id < len(PALETTE):
        return PALETTE[cluster_id]
    return f"hsl({cluster_id * 137.508 % 360:.0f}, 55%, 48%)"


def _swatch(colour: str) -> str:
    return f'<span class="swatch" style="background:{colour}"></span>'


def _cluster_name(cluster_id: int, captions: Mapping[int, str]) -> str:
    if cluster_id < 0:
        return "unclustered"
    caption = captions.get(cluster_id, "")
    return f"cluster {cluster_id}: {caption}" if caption else f"cluster {cluster_id}"


def _thumbnail(png: bytes, alt: str) -> str:
    if not png:
        return ""
    return f'<img class="thumb" alt="{_text(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'


def _score_bar(score: float, top_score: float) -> str:
    width = 100 * max(score, 0.0) / top_score if top_score > 0 else 0.0
    return f'<span class="score"><i style="width:{width:.1f}%"></i></span>{score:.3f}'


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: Sequence[int] = ()) -> str:
    """A table of cells that are HTML already (callers escape); `numeric` columns align right.
    No rows: a line that says so, not an empty grid."""
    rows = list(rows)
    if not rows:
        return '<p class="muted">None.</p>'

    def cell(tag: str, column: int, content: str) -> str:
        return f'<{tag} class="number">{content}</{tag}>' if column in numeric else f"<{tag}>{content}</{tag}>"

    head = "".join(cell("th", column, _text(header)) for column, header in enumerate(headers))
    body = "".join("<tr>" + "".join(cell("td", column, content) for column, content in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _legend(entries: Iterable[tuple[str, str]]) -> str:
    """(swatch HTML, escaped label) per line."""
    return '<ul class="legend">' + "".join(f"<li>{swatch}{label}</li>" for swatch, label in entries) + "</ul>"


def _section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{_text(title)}</h2>{body}</section>'


# --- SVG primitives ---------------------------------------------------------------------------


def _bar_chart(labels: Sequence[str], series: Sequence[_Series], *, value_format: str, hover: Sequence[str] = (), width: int = 560, height: int = 240) -> str:
    """Bars per label, the series side by side; labels thinned to fit, each bar titled on hover.
    `labels` and `hover` are plain text; `value_format` formats values (e.g. "{:.1%}")."""
    left, right, top, bottom = 52, 10, 12, 30
    plot_width, plot_height = width - left - right, height - top - bottom
    highest = max((value for one in series for value in one.values), default=0.0) or 1.0
    slot = plot_width / max(len(labels), 1)
    bar_width = slot * (0.9 if len(labels) > 24 else 0.75) / max(len(series), 1)
    label_every = math.ceil(LABEL_SPACING_PX / slot) if slot < LABEL_SPACING_PX else 1
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img">']
    for fraction in (0.0, 0.5, 1.0):
        y = top + plot_height * (1 - fraction)
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#dde1e7"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_text(value_format.format(highest * fraction))}</text>')
    for position, label in enumerate(labels):
        slot_left = left + slot * position + (slot - bar_width * len(series)) / 2
        for offset, one in enumerate(series):
            value = one.values[position]
            bar_height = plot_height * max(value, 0.0) / highest
            title = f"{hover[position] if hover else label}: {one.name + ' ' if len(series) > 1 else ''}{value_format.format(value)}"
            parts.append(
                f'<rect class="bar" x="{slot_left + offset * bar_width:.1f}" y="{top + plot_height - bar_height:.1f}" width="{max(bar_width - 1, 0.5):.1f}" '
                f'height="{bar_height:.1f}" fill="{one.colour}"><title>{_text(title)}</title></rect>'
            )
        if position % label_every == 0:
            parts.append(f'<text x="{left + slot * (position + 0.5):.1f}" y="{height - 10}" text-anchor="middle">{_text(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _histogram(edges: Sequence[float], counts: Sequence[int], *, unit: str) -> str:
    """Counts between consecutive edges (len(edges) = len(counts) + 1)."""
    ranges = [f"{low:.3f}-{high:.3f}" for low, high in zip(edges, edges[1:])]
    labels = [f"{low:.2f}" for low in edges[:-1]]
    return _bar_chart(labels, [_Series(unit, [float(count) for count in counts], PALETTE[0])], value_format="{:,.0f}", hover=ranges)


def _scatter(points: Sequence[MapPoint], captions: Mapping[int, str], *, size: int = 640) -> str:
    """The map's points on one scale for both axes (distances stay comparable), unclustered first
    and outliers last so that nothing hides what matters; each point titled on hover."""
    margin = 12
    xs, ys = [point.x for point in points], [point.y for point in points]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1e-9)
    scale = (size - 2 * margin) / span
    # The lower-left corner of the plotted square, which centres the points in it.
    x0, y0 = (min(xs) + max(xs) - span) / 2, (min(ys) + max(ys) - span) / 2
    parts = [f'<svg class="scatter" viewBox="0 0 {size} {size}" role="img">']
    for point in sorted(points, key=lambda point: (point.outlier, point.cluster >= 0)):
        x, y = margin + (point.x - x0) * scale, size - margin - (point.y - y0) * scale
        title = f"{point.video_id} · window {point.window_index} · {_cluster_name(point.cluster, captions)}{' · outlier' if point.outlier else ''}"
        if point.outlier:
            cross = f"M{x - 4:.1f} {y - 4:.1f}L{x + 4:.1f} {y + 4:.1f}M{x - 4:.1f} {y + 4:.1f}L{x + 4:.1f} {y - 4:.1f}"
            parts.append(f'<path class="point outlier" d="{cross}" stroke="{OUTLIER_COLOUR}" stroke-width="2.2"><title>{_text(title)}</title></path>')
        else:
            parts.append(
                f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="3.2" fill="{_cluster_colour(point.cluster)}" fill-opacity="0.8">'
                f"<title>{_text(title)}</title></circle>"
            )
    parts.append("</svg>")
    return "".join(parts)


# --- sections ---------------------------------------------------------------------------------


def _header(diagnosis: IndexDiagnosis) -> str:
    model = diagnosis.model
    if diagnosis.sampled:
        share = diagnosis.rows_analyzed / diagnosis.rows_total if diagnosis.rows_total else 0.0
        rows = f'<span class="badge">sampled</span> {_format_count(diagnosis.rows_analyzed)} of {_format_count(diagnosis.rows_total)} rows analysed ({share:.1%})'
    else:
        rows = f"all {_format_count(diagnosis.rows_total)} rows analysed"
    meta = [
        f"model <b>{_text(model.name)}</b> v{_text(model.version)} ({model.dimension}-d, space {_text(model.embedding_space)})",
        rows, f"{_format_count(diagnosis.videos_analyzed)} videos", f"{diagnosis.seconds:.1f} s",
    ]
    notes = '<ul class="notes">' + "".join(f"<li>{_text(note)}</li>" for note in diagnosis.notes) + "</ul>" if diagnosis.notes else ""
    anchors = (("map", "Map"), ("spectrum", "Spectrum"), ("duplicates", "Duplicates"), ("outliers", "Outliers"),
               ("clusters", "Clusters"), ("coverage", "Coverage"), ("drift", "Drift"))
    nav = "<nav>" + "".join(f'<a href="#{anchor}">{title}</a>' for anchor, title in anchors) + "</nav>"
    return (
        f"<header><h1>Index diagnosis: {_text(diagnosis.collection)}</h1>"
        f'<p class="meta">{"".join(f"<span>{item}</span>" for item in meta)}</p>{notes}{_tiles(diagnosis)}{nav}</header>'
    )


def _tiles(diagnosis: IndexDiagnosis) -> str:
    drift = diagnosis.drift
    tiles = [
        ("", f"{diagnosis.spectrum.effective_rank:.1f}", f"effective rank of {diagnosis.spectrum.dimension}"),
        ("bad" if diagnosis.duplicates else "", _format_count(len(diagnosis.duplicates)), "duplicate groups"),
        ("", _format_count(len(diagnosis.outlier_videos)), "outlier videos listed"),
        ("", _format_count(len(diagnosis.clusters)), "clusters"),
        ("bad" if diagnosis.coverage.gaps else "", _format_count(len(diagnosis.coverage.gaps)), "coverage gaps"),
    ]
    if drift is not None:
        tiles.append(("bad" if drift.drifted else "good", "drifted" if drift.drifted else "no drift", f"p = {drift.p_value:.3g}"))
    return '<div class="tiles">' + "".join(f'<div class="tile {tone}"><b>{value}</b>{_text(label)}</div>' for tone, value, label in tiles) + "</div>"


def _map(diagnosis: IndexDiagnosis, captions: Mapping[int, str]) -> str:
    if not diagnosis.map:
        return _section("map", "Map of the space", '<p class="muted">The server sent no map points.</p>')
    points_by_cluster: dict[int, int] = {}
    for point in diagnosis.map:
        points_by_cluster[point.cluster] = points_by_cluster.get(point.cluster, 0) + 1
    entries = [(_swatch(_cluster_colour(cluster)), f"{_text(_cluster_name(cluster, captions))} <span class='muted'>({points})</span>")
               for cluster, points in sorted(points_by_cluster.items(), key=lambda item: (item[0] < 0, item[0]))]
    outliers = sum(point.outlier for point in diagnosis.map)
    entries.append((f'<span class="swatch" style="background:none;color:{OUTLIER_COLOUR};font-weight:700">×</span>', f"outlier <span class='muted'>({outliers})</span>"))
    body = (
        f'<p class="muted">t-SNE of {_format_count(len(diagnosis.map))} windows, coloured by cluster; hover a point for its video and window.</p>'
        f'<div class="map">{_scatter(diagnosis.map, captions)}{_legend(entries)}</div>'
    )
    return _section("map", "Map of the space", body)


def _spectrum(diagnosis: IndexDiagnosis) -> str:
    spectrum, neighbours = diagnosis.spectrum, diagnosis.nearest_neighbours
    variance = spectrum.explained_variance
    spectrum_chart = _bar_chart(
        [str(rank) for rank in range(1, len(variance) + 1)], [_Series("variance", variance, PALETTE[0])], value_format="{:.1%}",
        hover=[f"direction {rank}" for rank in range(1, len(variance) + 1)],
    ) if variance else '<p class="muted">No spectrum.</p>'
    quantile_names = ("min", "p5", "p25", "median", "p75", "p95", "max")
    quantiles = " · ".join(f"{name} {value:.3f}" for name, value in zip(quantile_names, neighbours.quantiles))
    distance_chart = _histogram(neighbours.histogram_edges, neighbours.histogram_counts, unit="windows") if neighbours.histogram_counts else '<p class="muted">No distances.</p>'
    body = (
        '<div class="charts">'
        f"<div><p>Effective rank <b>{spectrum.effective_rank:.1f}</b> of {spectrum.dimension} dimensions; "
        f"90% of the variance lies in <b>{spectrum.dimensions_for_90_percent}</b> directions. Share of variance per principal direction:</p>{spectrum_chart}</div>"
        f"<div><p>Cosine distance from each window to its nearest other window: {_text(quantiles)}</p>{distance_chart}</div>"
        "</div>"
    )
    return _section("spectrum", "Spectrum and nearest neighbours", body)


def _duplicates(diagnosis: IndexDiagnosis) -> str:
    if not diagnosis.duplicates:
        return _section("duplicates", "Near-duplicate videos", f'<p class="muted">No group at similarity ≥ {diagnosis.duplicate_threshold:.2f}.</p>')
    rows = []
    for number, group in enumerate(diagnosis.duplicates, 1):
        thumbnails = (*group.thumbnails_png, *[b""] * (len(group.video_ids) - len(group.thumbnails_png)))
        videos = "".join(
            f'<figure class="video">{_thumbnail(png, video_id)}<figcaption>{_text(video_id)}</figcaption></figure>'
            for video_id, png in zip(group.video_ids, thumbnails)
        )
        rows.append((str(number), videos, f"{group.similarity:.4f}"))
    intro = f"<p>{len(diagnosis.duplicates)} groups of videos whose windows match at similarity ≥ {diagnosis.duplicate_threshold:.2f}; the first of each was indexed first.</p>"
    return _section("duplicates", "Near-duplicate videos", intro + _table(("#", "videos", "similarity"), rows, numeric=(0, 2)))


def _outliers(diagnosis: IndexDiagnosis) -> str:
    intro = f"<p>Score: cosine distance to the {diagnosis.outlier_neighbours}-th nearest window (for a video, the mean of its windows); highest first.</p>"
    top_video = max((video.score for video in diagnosis.outlier_videos), default=0.0)
    videos = _table(("#", "video", "windows", "score"), [
        (str(rank), _thumbnail(video.thumbnail_png, video.video_id) + _text(video.video_id), _format_count(video.windows), _score_bar(video.score, top_video))
        for rank, video in enumerate(diagnosis.outlier_videos, 1)
    ], numeric=(0, 2))
    top_window = max((outlier.score for outlier in diagnosis.outlier_windows), default=0.0)
    windows = _table(("#", "video", "window", "seconds", "score"), [
        (str(rank), _text(outlier.window.video_id), str(outlier.window.window_index),
         f"{outlier.window.start_seconds:.2f}-{outlier.window.end_seconds:.2f}", _score_bar(outlier.score, top_window))
        for rank, outlier in enumerate(diagnosis.outlier_windows, 1)
    ], numeric=(0, 2, 3))
    body = f'{intro}<div class="charts"><div><h3>Videos</h3>{videos}</div><div><h3>Windows</h3>{windows}</div></div>'
    return _section("outliers", "Outliers", body)


def _cluster_cell(cluster_id: int, captions: Mapping[int, str]) -> str:
    return _swatch(_cluster_colour(cluster_id)) + _text(_cluster_name(cluster_id, captions))


def _caption_cell(caption: str) -> str:
    return _text(caption) if caption else '<span class="muted">no caption</span>'


def _clusters(clusters: Sequence[Cluster], unclustered_windows: int) -> str:
    rows = [
        (_swatch(_cluster_colour(cluster.id)) + str(cluster.id),
         _caption_cell(cluster.caption) + (f' <span class="muted">({cluster.caption_confidence:.2f})</span>' if cluster.caption else ""),
         _format_count(cluster.windows), _format_count(cluster.videos), f"{cluster.radius:.3f}", _text(", ".join(cluster.example_video_ids)))
        for cluster in clusters
    ]
    intro = f"<p>{len(clusters)} clusters; {_format_count(unclustered_windows)} windows belong to none.</p>"
    return _section("clusters", "Clusters", intro + _table(("cluster", "caption (confidence)", "windows", "videos", "radius", "examples"), rows, numeric=(2, 3, 4)))


def _coverage(coverage: QueryCoverage, captions: Mapping[int, str]) -> str:
    if not coverage.queries_sampled:
        return _section("coverage", "Query coverage", '<p class="muted">No text queries were sampled for this collection.</p>')
    covered = coverage.queries_covered / coverage.queries_sampled
    intro = (f"<p>{_format_count(coverage.queries_covered)} of {_format_count(coverage.queries_sampled)} sampled queries ({covered:.0%}) "
             f"find a video at similarity ≥ {coverage.threshold:.3f}. Gaps, queries that no indexed video answers:</p>")
    rows = [
        ('<ul class="plain">' + "".join(f"<li>{_text(query)}</li>" for query in gap.queries) + "</ul>",
         f"{gap.best_score:.3f}", _caption_cell(gap.caption), _cluster_cell(gap.nearest_cluster, captions))
        for gap in coverage.gaps
    ]
    return _section("coverage", "Query coverage", intro + _table(("queries", "best score", "caption of the gap", "nearest cluster"), rows, numeric=(1,)))


def _when(unix_s: float, zero: str) -> str:
    return datetime.fromtimestamp(unix_s, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if unix_s else zero


def _time_range(span: TimeRange) -> str:
    return f"{_when(span.start_unix_s, 'the first row')} to {_when(span.end_unix_s, 'now')}"


def _drift(drift: Drift | None, captions: Mapping[int, str]) -> str:
    if drift is None:
        return _section("drift", "Drift", '<p class="muted">Not analysed: no reference and current time ranges were given.</p>')
    tone, verdict = ("bad", "Drifted") if drift.drifted else ("good", "No drift")
    body = (
        f'<p><span class="verdict {tone}">{verdict}</span> &nbsp; p-value <b>{drift.p_value:.4g}</b> '
        f"({drift.permutations} permutations), MMD² {drift.mmd:.4g}</p>"
        f"<p>Reference: {_text(_time_range(drift.reference))}, {_format_count(drift.reference_rows)} rows. "
        f"Current: {_text(_time_range(drift.current))}, {_format_count(drift.current_rows)} rows.</p>"
    )
    if drift.shares:
        labels = ["none" if share.cluster < 0 else str(share.cluster) for share in drift.shares]
        chart = _bar_chart(labels, [
            _Series("reference", [share.reference_share for share in drift.shares], REFERENCE_COLOUR),
            _Series("current", [share.current_share for share in drift.shares], CURRENT_COLOUR),
        ], value_format="{:.1%}", hover=[_cluster_name(share.cluster, captions) for share in drift.shares], width=900)
        legend = _legend([(_swatch(REFERENCE_COLOUR), "reference share"), (_swatch(CURRENT_COLOUR), "current share")])
        body += f"<p>Share of rows per cluster, largest change first:</p>{chart}{legend}"
    return _section("drift", "Drift", body)


def render_report(diagnosis: IndexDiagnosis) -> str:
    """The whole page for `diagnosis`."""
    captions = {cluster.id: cluster.caption for cluster in diagnosis.clusters}
    sections = (
        _header(diagnosis), _map(diagnosis, captions), _spectrum(diagnosis), _duplicates(diagnosis), _outliers(diagnosis),
        _clusters(diagnosis.clusters, diagnosis.unclustered_windows), _coverage(diagnosis.coverage, captions), _drift(diagnosis.drift, captions),
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="icon" href="data:,"><title>Index diagnosis: {_text(diagnosis.collection)}</title><style>{CSS}</style></head>'
        f"<body><main>{''.join(sections)}</main></body></html>\n"
    )

# Copyright 2026 Krabby parkour maintainers
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.


"""
The scorecard as an HTML page with pictures (matplotlib PNGs beside it).

Written into the output folder: ``report.html``, ``plots/*.png``:

- ``heatmap_<perturbation>.png``: success rate, terrain x difficulty, one
  panel per checkpoint (side by side with ``--compare``);
- ``success_by_perturbation.png``, ``distance.png``, ``time_to_fall.png``,
  ``clamps.png``, ``latency.png``.

Every failed episode is listed with its reason and a link to its MCAP
recording (open it in Foxglove, or ``parkour_report REC --out DIR``).
matplotlib is imported only here (the package's ``report`` extra).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
import html
import os
from pathlib import Path
from types import ModuleType
from typing import Any, TYPE_CHECKING

import numpy as np

from krabby_parkour_ros.gate.perturbations import FAULTS, PERTURBATIONS
from krabby_parkour_ros.gate.terrains import TERRAINS

if TYPE_CHECKING:  # matplotlib is imported at run time only when a report is drawn
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

_COLORS = ('#1f77b4', '#ff7f0e', '#2ca02c', '#d62728')


def _pyplot() -> ModuleType:
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    return plt


def _ordered(values: Sequence[str], order: Sequence[str]) -> list[str]:
    return sorted(set(values), key=lambda v: order.index(v) if v in order else len(order))


def _axes_of(card: dict[str, Any]) -> tuple[list[str], list[float], list[str]]:
    cells = card['cells']
    terrains = _ordered([c['terrain'] for c in cells], list(TERRAINS))
    difficulties = sorted({float(c['difficulty']) for c in cells})
    perturbations = _ordered([c['perturbation'] for c in cells], list(PERTURBATIONS))
    return terrains, difficulties, perturbations


def plot_heatmap(card: dict[str, Any], perturbation: str, path: Path) -> None:
    """Draw the success-rate heatmap (terrain x difficulty) of one perturbation."""
    plt = _pyplot()
    terrains, difficulties, _ = _axes_of(card)
    labels = list(card['checkpoints'])
    size = (1.0 + 1.3 * len(difficulties) * len(labels), 0.5 * len(terrains) + 1.6)
    fig, axes = plt.subplots(1, len(labels), figsize=size, squeeze=False)
    for ax, label in zip(axes[0], labels):
        grid = np.full((len(terrains), len(difficulties)), np.nan)
        counts = np.zeros_like(grid)
        for c in card['cells']:
            if c['label'] == label and c['perturbation'] == perturbation:
                i = terrains.index(c['terrain'])
                j = difficulties.index(float(c['difficulty']))
                grid[i, j] = c['success_rate']
                counts[i, j] = c['episodes']
        ax.imshow(np.ma.masked_invalid(grid), cmap='RdYlGn', vmin=0.0, vmax=1.0, aspect='auto')
        for i in range(len(terrains)):
            for j in range(len(difficulties)):
                if not np.isnan(grid[i, j]):
                    ax.text(
                        j,
                        i,
                        f'{grid[i, j]:.2f}\n({int(counts[i, j])})',
                        ha='center',
                        va='center',
                        fontsize=7,
                    )
        ax.set_xticks(range(len(difficulties)), [f'{d:.2f}' for d in difficulties])
        ax.set_yticks(range(len(terrains)), terrains)
        ax.set_xlabel('difficulty')
        ax.set_title(f'{label}: {perturbation}', fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _grouped_bars(ax: Axes, groups: list[str], series: dict[str, list[float | None]]) -> None:
    width = 0.8 / max(1, len(series))
    x = np.arange(len(groups))
    for k, (label, values) in enumerate(series.items()):
        heights = [np.nan if v is None else v for v in values]
        ax.bar(
            x + k * width - 0.4 + width / 2,
            heights,
            width,
            label=label,
            color=_COLORS[k % len(_COLORS)],
        )
    ax.set_xticks(x, groups, rotation=45, ha='right', fontsize=8)
    ax.legend(fontsize=8)


def _by_label(card: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    by_label: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in card['episodes']:
        by_label[e['spec']['label']].append(e)
    return by_label


def _save(plt: ModuleType, fig: Figure, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path.name


def plot_success(card: dict[str, Any], folder: Path) -> str:
    """Draw the success rate per perturbation, one bar per checkpoint."""
    plt = _pyplot()
    _, _, perturbations = _axes_of(card)
    fig, ax = plt.subplots(figsize=(10, 4))
    _grouped_bars(
        ax,
        perturbations,
        {
            label: [summary['success_rate_by_perturbation'].get(p) for p in perturbations]
            for label, summary in card['summary'].items()
        },
    )
    ax.set_ylim(0, 1.05)
    ax.set_ylabel('success rate')
    ax.set_title('success rate per perturbation (fault_* = wrong deployments)')
    return _save(plt, fig, folder / 'success_by_perturbation.png')


def plot_distance(card: dict[str, Any], folder: Path) -> str:
    """Draw the mean distance per terrain and the mean progress per perturbation."""
    plt = _pyplot()
    terrains, _, perturbations = _axes_of(card)
    by_label = _by_label(card)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    _grouped_bars(
        axes[0],
        terrains,
        {
            label: [_mean_of(episodes, 'distance_m', terrain=t) for t in terrains]
            for label, episodes in by_label.items()
        },
    )
    axes[0].set_ylabel('mean distance (m)')
    axes[0].set_title('distance per terrain (non-fault episodes)')
    _grouped_bars(
        axes[1],
        perturbations,
        {
            label: [_mean_of(episodes, 'progress', perturbation=p) for p in perturbations]
            for label, episodes in by_label.items()
        },
    )
    axes[1].set_ylabel('mean progress to the goal')
    axes[1].set_title('progress per perturbation')
    return _save(plt, fig, folder / 'distance.png')


def plot_time_to_fall(card: dict[str, Any], folder: Path) -> str:
    """Draw the histogram of the simulated time to fall, per checkpoint."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for k, (label, episodes) in enumerate(_by_label(card).items()):
        times = [e['time_to_fall_s'] for e in episodes if e.get('time_to_fall_s')]
        if times:
            ax.hist(
                times,
                bins=20,
                alpha=0.6,
                label=f'{label} ({len(times)} falls)',
                color=_COLORS[k % len(_COLORS)],
            )
    ax.set_xlabel('time to fall (s, simulated)')
    ax.set_ylabel('episodes')
    ax.set_title('time to fall')
    ax.legend(fontsize=8)
    return _save(plt, fig, folder / 'time_to_fall.png')


def plot_clamps(card: dict[str, Any], folder: Path) -> str:
    """Draw the wire-guard and mapper clamp counts per perturbation."""
    plt = _pyplot()
    _, _, perturbations = _axes_of(card)
    by_label = _by_label(card)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for ax, key, title in (
        (axes[0], 'wire_clamps', 'HAL wire guard clamps (stats()[wire_clamps])'),
        (axes[1], 'mapper_clamps', 'action mapper clamps (clamp_counts())'),
    ):
        _grouped_bars(
            ax,
            perturbations,
            {
                label: [
                    float(
                        sum(
                            sum((e.get(key) or {}).values())
                            for e in episodes
                            if e['spec']['perturbation'] == p
                        )
                    )
                    for p in perturbations
                ]
                for label, episodes in by_label.items()
            },
        )
        ax.set_ylabel('clamped joint commands (sum)')
        ax.set_title(title, fontsize=9)
    return _save(plt, fig, folder / 'clamps.png')


def plot_latency(card: dict[str, Any], folder: Path) -> str:
    """Draw the controller's tick time and the success rate against injected latency."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for k, (label, episodes) in enumerate(_by_label(card).items()):
        color = _COLORS[k % len(_COLORS)]
        p99 = [
            e['tick_latency_ms']['p99']
            for e in episodes
            if (e.get('tick_latency_ms') or {}).get('p99') is not None
        ]
        if p99:
            axes[0].hist(p99, bins=30, alpha=0.6, label=label, color=color)
        injected = sorted({e.get('injected_latency_ms', 0) for e in episodes})
        rates = []
        for ms in injected:
            group = [e for e in episodes if e.get('injected_latency_ms', 0) == ms]
            rates.append(sum(1 for e in group if e.get('success')) / len(group))
        axes[1].plot(injected, rates, 'o-', label=label, color=color)
    axes[0].set_xlabel('controller tick p99 per episode (ms, wall clock)')
    axes[0].set_ylabel('episodes')
    axes[0].set_title('controller compute latency (receive -> command sent)')
    axes[0].legend(fontsize=8)
    axes[1].set_xlabel('injected observation + action latency (ms)')
    axes[1].set_ylabel('success rate')
    axes[1].set_ylim(0, 1.05)
    axes[1].set_title('success vs injected latency (all episodes)')
    axes[1].legend(fontsize=8)
    return _save(plt, fig, folder / 'latency.png')


def plot_summaries(card: dict[str, Any], folder: Path) -> list[str]:
    """Draw the summary figures; return their file names."""
    plots = (plot_success, plot_distance, plot_time_to_fall, plot_clamps, plot_latency)
    return [plot(card, folder) for plot in plots]


def _mean_of(
    episodes: list[dict[str, Any]], key: str, terrain: str = '', perturbation: str = ''
) -> float | None:
    values = [
        value
        for e in episodes
        if (not terrain or e['spec']['terrain'] == terrain)
        and (not perturbation or e['spec']['perturbation'] == perturbation)
        and (perturbation or e['spec']['perturbation'] not in FAULTS)
        and (value := e.get(key)) is not None
    ]
    return float(np.mean(values)) if values else None


def _table(rows: list[list[Any]], header: list[str]) -> str:
    head = ''.join(f'<th>{html.escape(str(h))}</th>' for h in header)
    body = ''.join('<tr>' + ''.join(f'<td>{c}</td>' for c in row) + '</tr>' for row in rows)
    return f'<table><tr>{head}</tr>{body}</table>'


def _fmt(value: Any) -> str:
    if value is None:
        return '&ndash;'
    if isinstance(value, float):
        return f'{value:.3g}'
    return html.escape(str(value))


def write_report(card: dict[str, Any], out_dir: Path) -> Path:
    """Write ``report.html`` and ``plots/`` for a scorecard; return the HTML path."""
    out_dir = Path(out_dir)
    plots = out_dir / 'plots'
    plots.mkdir(parents=True, exist_ok=True)
    _, _, perturbations = _axes_of(card)
    heatmaps = []
    for p in perturbations:
        name = f'heatmap_{p}.png'
        plot_heatmap(card, p, plots / name)
        heatmaps.append((p, name))
    summary_plots = plot_summaries(card, plots)
    labels = list(card['checkpoints'])
    parts = [
        '<!DOCTYPE html><html><head><meta charset="utf-8">',
        '<title>Policy acceptance gate</title><style>',
        'body{font-family:sans-serif;margin:1.5em;max-width:1400px}',
        'table{border-collapse:collapse;margin:0.5em 0}',
        'td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}',
        '.pass{color:#080;font-weight:bold}.fail{color:#b00;font-weight:bold}',
        'img{max-width:100%;margin:4px 0}</style></head><body>',
        '<h1>Policy acceptance gate</h1>',
    ]
    run = card['run']
    parts.append(
        f'<p>{run.get("episodes")} episodes, backend {_fmt(run.get("backend"))} '
        f'({_fmt(run.get("workers"))} workers), wall time '
        f'{_fmt(run.get("wall_time_s"))} s; episodes of at most '
        f'{_fmt(run.get("duration_s"))} s simulated, vx {_fmt(run.get("vx"))} m/s.</p>'
    )
    gate = card.get('gate')
    if gate is not None:
        verdict = (
            '<span class="pass">PASSED</span>'
            if gate['passed']
            else '<span class="fail">FAILED</span>'
        )
        parts.append(f'<h2>Gate: {verdict} ({html.escape(gate["checkpoint"])})</h2>')
        if gate['violations']:
            parts.append(
                '<ul>'
                + ''.join(f'<li>{html.escape(v)}</li>' for v in gate['violations'])
                + '</ul>'
            )
    rows = []
    for label in labels:
        s = card['summary'][label]
        ck = card['checkpoints'][label]
        hardest = ', '.join(f'{t} {_fmt(d)}' for t, d in s['hardest_difficulty_passed'].items())
        rows.append(
            [
                html.escape(label),
                html.escape(str(ck.get('checkpoint'))),
                s['episodes'],
                _fmt(s['success_rate']),
                html.escape(hardest),
                html.escape(', '.join(s['failing_perturbations']) or 'none'),
                html.escape(', '.join(s['failing_terrains']) or 'none'),
                _fmt(s['mean_wire_clamps_per_episode']),
                _fmt(s['worst_tick_latency_p99_ms']),
            ]
        )
    parts.append(
        '<h2>Summary</h2>'
        + _table(
            rows,
            [
                'checkpoint',
                'file',
                'episodes',
                'success rate (non-fault)',
                'hardest difficulty passed (nominal)',
                'perturbations below nominal',
                'terrains with failures',
                'wire clamps / episode',
                'worst tick p99 (ms)',
            ],
        )
    )
    parts.append(_hardest_html(card, perturbations))
    legend = [[html.escape(p), html.escape(PERTURBATIONS.get(p, ''))] for p in perturbations]
    parts.append('<h2>Perturbations</h2>' + _table(legend, ['name', 'what']))
    parts.append('<h2>Success rate: terrain x difficulty</h2>')
    for p, name in heatmaps:
        parts.append(f'<h3>{html.escape(p)}</h3><img src="plots/{name}" alt="{name}">')
    parts.append('<h2>Distance, falls, clamps, latency</h2>')
    for name in summary_plots:
        parts.append(f'<img src="plots/{name}" alt="{name}">')
    parts.append(_failures_html(card, out_dir))
    parts.append('</body></html>')
    path = out_dir / 'report.html'
    path.write_text('\n'.join(parts), encoding='utf-8')
    return path


def _hardest_html(card: dict[str, Any], perturbations: list[str]) -> str:
    terrains, _, _ = _axes_of(card)
    parts = []
    for label, summary in card['summary'].items():
        table = summary.get('hardest_difficulty_by_perturbation', {})
        rows = [
            [html.escape(p)] + [_fmt(table.get(p, {}).get(t)) for t in terrains]
            for p in perturbations
        ]
        parts.append(f'<h3>{html.escape(label)}</h3>' + _table(rows, ['perturbation'] + terrains))
    return (
        '<h2>Hardest difficulty passed</h2><p>Per terrain, the highest level up to which '
        'every episode succeeded (&ndash;: not even the easiest).</p>' + ''.join(parts)
    )


def _failures_html(card: dict[str, Any], out_dir: Path) -> str:
    rows = []
    for f in card['failures']:
        recording = f.get('recording')
        if recording:
            rel = os.path.relpath(recording, out_dir)
            link = (
                f'<a href="{html.escape(rel)}">{html.escape(Path(rel).name)}</a><br>'
                f'<code>parkour_report {html.escape(rel)} --joint-map go2_sim --out '
                f'{html.escape(str(Path(rel).with_suffix("")))}_report</code>'
            )
        else:
            link = '&ndash;'
        rows.append(
            [
                html.escape(f['key']),
                html.escape(f['outcome']),
                html.escape(f['reason'][:200]),
                link,
            ]
        )
    return (
        f'<h2>Failures ({len(rows)})</h2><p>Each recording holds every HAL observation '
        'and command of the episode byte for byte: open it in Foxglove or run the '
        'command below it.</p>' + _table(rows, ['episode', 'outcome', 'reason', 'recording'])
    )

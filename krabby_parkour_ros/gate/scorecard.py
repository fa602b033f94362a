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
The scorecard: episode results aggregated per cell, per perturbation and per terrain, and the gate.

Rates over "all perturbations" leave the ``fault_*`` entries out: those are
wrong deployments that the gate must score low, not conditions the policy
must survive.

Thresholds (``--gate THRESHOLDS.yaml``), every key optional::

    min_success_rate: 0.8              # over every non-fault episode
    min_success_rate_by_perturbation:  # per perturbation
      nominal: 1.0
      obs_noise: 0.8
    min_success_rate_by_terrain:       # per terrain, non-fault episodes
      gap: 0.7
    min_hardest_difficulty:            # nominal: hardest level passed per terrain
      box: 0.75
    max_wire_clamps_per_episode: 0     # mean over non-fault episodes
    max_tick_latency_p99_ms: 20.0      # worst episode p99 of the controller's tick

A checkpoint fails the gate when any threshold is violated.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
import math
from typing import Any

import numpy as np
import yaml

from krabby_parkour_ros.gate.perturbations import FAULTS, PERTURBATIONS
from krabby_parkour_ros.gate.terrains import TERRAINS

#: Version of the scorecard layout.
SCORECARD_VERSION = 1
#: A difficulty level counts as passed when its nominal success rate reaches this.
PASS_RATE = 1.0
THRESHOLD_KEYS = (
    'min_success_rate',
    'min_success_rate_by_perturbation',
    'min_success_rate_by_terrain',
    'min_hardest_difficulty',
    'max_wire_clamps_per_episode',
    'max_tick_latency_p99_ms',
)


class ThresholdError(ValueError):
    """A thresholds file is malformed."""


def _mean(values: Iterable[float | None]) -> float | None:
    numbers = [float(v) for v in values if v is not None]
    return round(float(np.mean(numbers)), 4) if numbers else None


def _success_rate(episodes: list[dict[str, Any]]) -> float:
    """
    Return the success rate of some episodes, rounded to 4 decimals.

    :raises ValueError: for no episodes (no rate).
    """
    if not episodes:
        raise ValueError('episodes: expected at least one for a success rate, got none')
    return round(sum(1 for e in episodes if e.get('success')) / len(episodes), 4)


def _rate(episodes: list[dict[str, Any]]) -> float | None:
    return _success_rate(episodes) if episodes else None


def _clamps(episode: dict[str, Any]) -> int:
    return int(sum((episode.get('wire_clamps') or {}).values()))


def _mapper_clamps(episode: dict[str, Any]) -> int:
    return int(sum((episode.get('mapper_clamps') or {}).values()))


def cell_rows(episodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return one row per (label, terrain, difficulty, perturbation) with its statistics."""
    groups: dict[tuple[str, str, float, str], list[dict[str, Any]]] = defaultdict(list)
    for e in episodes:
        s = e['spec']
        groups[(s['label'], s['terrain'], float(s['difficulty']), s['perturbation'])].append(e)
    rows = []
    for (label, terrain, difficulty, perturbation), group in groups.items():
        outcomes: dict[str, int] = defaultdict(int)
        for e in group:
            outcomes[e['outcome']] += 1
        rows.append(
            {
                'label': label,
                'terrain': terrain,
                'difficulty': difficulty,
                'perturbation': perturbation,
                'episodes': len(group),
                'successes': sum(1 for e in group if e.get('success')),
                'success_rate': _rate(group),
                'outcomes': dict(outcomes),
                'mean_distance_m': _mean(e.get('distance_m') for e in group),
                'mean_progress': _mean(e.get('progress') for e in group),
                'mean_time_to_fall_s': _mean(e.get('time_to_fall_s') for e in group),
                'wire_clamps': sum(_clamps(e) for e in group),
                'mapper_clamps': sum(_mapper_clamps(e) for e in group),
                'tick_latency_p99_ms': max(
                    (
                        e['tick_latency_ms']['p99']
                        for e in group
                        if e.get('tick_latency_ms', {}).get('p99') is not None
                    ),
                    default=None,
                ),
            }
        )
    rows.sort(
        key=lambda r: (
            r['label'],
            list(TERRAINS).index(r['terrain']) if r['terrain'] in TERRAINS else 99,
            r['difficulty'],
            list(PERTURBATIONS).index(r['perturbation'])
            if r['perturbation'] in PERTURBATIONS
            else 99,
        )
    )
    return rows


def hardest_passed(
    episodes: list[dict[str, Any]], perturbation: str = 'nominal'
) -> dict[str, float | None]:
    """
    Return per terrain the hardest difficulty whose episodes all succeeded.

    Only levels from the easiest up count: a terrain that fails at 0.25 but
    passes 0.5 has 0.0 as its hardest passed level (None: not even the
    easiest). Terrains without difficulty report their one level.
    """
    by_terrain: dict[str, dict[float, list[dict[str, Any]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for e in episodes:
        s = e['spec']
        if s['perturbation'] == perturbation:
            by_terrain[s['terrain']][float(s['difficulty'])].append(e)
    out: dict[str, float | None] = {}
    for terrain, levels in by_terrain.items():
        best = None
        for level in sorted(levels):
            rate = _rate(levels[level])
            if rate is None or rate < PASS_RATE:
                break
            best = level
        out[terrain] = best
    return out


def summarize(episodes: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the aggregate numbers of one checkpoint's episodes."""
    real = [e for e in episodes if e['spec']['perturbation'] not in FAULTS]
    by_perturbation: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_terrain: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in episodes:
        by_perturbation[e['spec']['perturbation']].append(e)
    for e in real:
        by_terrain[e['spec']['terrain']].append(e)
    outcomes: dict[str, int] = defaultdict(int)
    for e in episodes:
        outcomes[e['outcome']] += 1
    latencies = [
        e['tick_latency_ms']['p99']
        for e in real
        if e.get('tick_latency_ms', {}).get('p99') is not None
    ]
    perturbation_rates = {p: _rate(v) for p, v in by_perturbation.items()}
    nominal = perturbation_rates.get('nominal')
    return {
        'episodes': len(episodes),
        'non_fault_episodes': len(real),
        'success_rate': _rate(real),
        'outcomes': dict(outcomes),
        'success_rate_by_perturbation': perturbation_rates,
        'success_rate_by_terrain': {t: _rate(v) for t, v in by_terrain.items()},
        'hardest_difficulty_passed': hardest_passed(episodes),
        'hardest_difficulty_by_perturbation': {
            p: hardest_passed(episodes, p) for p in by_perturbation
        },
        'failing_perturbations': sorted(
            p
            for p, r in perturbation_rates.items()
            if p not in FAULTS and r is not None and nominal is not None and r < nominal
        ),
        # Every list of by_terrain holds at least the episode that created it.
        'failing_terrains': sorted(t for t, v in by_terrain.items() if _success_rate(v) < 1.0),
        'fault_detection': {
            f: {'success_rate': perturbation_rates[f], 'nominal': nominal}
            for f in FAULTS
            if f in perturbation_rates
        },
        'mean_wire_clamps_per_episode': _mean(_clamps(e) for e in real),
        'mean_mapper_clamps_per_episode': _mean(_mapper_clamps(e) for e in real),
        'mean_distance_m': _mean(e.get('distance_m') for e in real),
        'time_to_fall_s': _mean(e.get('time_to_fall_s') for e in real),
        'worst_tick_latency_p99_ms': max(latencies) if latencies else None,
        'median_tick_latency_p99_ms': (
            round(float(np.median(latencies)), 4) if latencies else None
        ),
    }


def load_thresholds(path: str) -> dict[str, Any]:
    """
    Read a thresholds YAML file.

    :raises ThresholdError: not a mapping, or an unknown key.
    """
    with open(path, encoding='utf-8') as stream:
        data = yaml.safe_load(stream) or {}
    if not isinstance(data, dict):
        raise ThresholdError(
            f'{path}: expected a mapping of thresholds, got {type(data).__name__}'
        )
    unknown = sorted(set(data) - set(THRESHOLD_KEYS))
    if unknown:
        raise ThresholdError(f'{path}: expected keys from {list(THRESHOLD_KEYS)}, got {unknown}')
    return data


def check_gate(summary: dict[str, Any], thresholds: dict[str, Any]) -> list[str]:
    """Return the violated thresholds of one checkpoint's summary (empty: it passes)."""
    violations: list[str] = []

    def below(name: str, value: float | None, minimum: float) -> None:
        if value is None or value < float(minimum):
            violations.append(f'{name}: {value} < {minimum}')

    if 'min_success_rate' in thresholds:
        below('success rate', summary['success_rate'], thresholds['min_success_rate'])
    for key, table in (
        ('min_success_rate_by_perturbation', 'success_rate_by_perturbation'),
        ('min_success_rate_by_terrain', 'success_rate_by_terrain'),
    ):
        for name, minimum in (thresholds.get(key) or {}).items():
            below(f'{table}[{name}]', summary[table].get(name), minimum)
    for terrain, minimum in (thresholds.get('min_hardest_difficulty') or {}).items():
        below(
            f'hardest difficulty passed[{terrain}]',
            summary['hardest_difficulty_passed'].get(terrain),
            minimum,
        )
    if 'max_wire_clamps_per_episode' in thresholds:
        value = summary['mean_wire_clamps_per_episode'] or 0.0
        if value > float(thresholds['max_wire_clamps_per_episode']):
            violations.append(
                f'wire clamps per episode: {value} > {thresholds["max_wire_clamps_per_episode"]}'
            )
    if 'max_tick_latency_p99_ms' in thresholds:
        value = summary['worst_tick_latency_p99_ms']
        if value is not None and value > float(thresholds['max_tick_latency_p99_ms']):
            violations.append(
                f'tick latency p99: {value} ms > {thresholds["max_tick_latency_p99_ms"]} ms'
            )
    return violations


def build_scorecard(
    episodes: list[dict[str, Any]],
    checkpoints: dict[str, dict[str, Any]],
    run: dict[str, Any],
    thresholds: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return the complete scorecard (JSON-ready) of a gate run."""
    labels = list(checkpoints)
    per_label = {label: [e for e in episodes if e['spec']['label'] == label] for label in labels}
    summaries = {label: summarize(eps) for label, eps in per_label.items()}
    gate = None
    if thresholds is not None:
        violations = check_gate(summaries[labels[0]], thresholds)
        gate = {
            'thresholds': thresholds,
            'checkpoint': labels[0],
            'passed': not violations,
            'violations': violations,
        }
    return {
        'version': SCORECARD_VERSION,
        'run': run,
        'checkpoints': checkpoints,
        'summary': summaries,
        'cells': cell_rows(episodes),
        'gate': gate,
        'failures': [
            {
                'key': e['key'],
                'label': e['spec']['label'],
                'outcome': e['outcome'],
                'reason': e['reason'],
                'recording': e.get('recording'),
            }
            for e in episodes
            if not e.get('success')
        ],
        'episodes': episodes,
    }


def finite_or_none(value: Any) -> Any:
    """Return ``value`` with NaN and infinities replaced by None (strict JSON)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(v) for v in value]
    return value

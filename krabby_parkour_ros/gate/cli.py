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
``parkour_gate``: the policy acceptance gate on the command line.

Runs a matrix of episodes (terrain x difficulty x perturbation x seed) of
the real controller against the simulated Go2, writes ``scorecard.json``,
``report.html`` and ``plots/`` into ``--out``, keeps an MCAP recording of
every failed episode, and with ``--gate THRESHOLDS.yaml`` exits 1 when the
checkpoint falls below a threshold. Exit codes: 0 done (gate passed or not
asked), 1 gate failed, 2 bad arguments or a run that could not start.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import replace
import json
import os
from pathlib import Path
import sys
import time
from typing import Any

from krabby_parkour_ros.gate.episode import EpisodeSpec
from krabby_parkour_ros.gate.matrix import build_matrix, MatrixError, PRESETS
from krabby_parkour_ros.gate.perturbations import PERTURBATIONS
from krabby_parkour_ros.gate.runner import BACKENDS, Progress, run_specs, RunnerError
from krabby_parkour_ros.gate.scorecard import (
    build_scorecard,
    finite_or_none,
    load_thresholds,
    ThresholdError,
)
from krabby_parkour_ros.gate.terrains import TERRAINS


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the gate command."""
    parser = argparse.ArgumentParser(
        prog='parkour_gate',
        description='Policy acceptance gate: run a checkpoint through the real controller '
        'against the simulated Go2 on training terrains under perturbations; '
        'write a scorecard (JSON + HTML) and optionally gate on thresholds.',
    )
    parser.add_argument(
        '--checkpoint',
        default='',
        help='checkpoint to test (default: the shipped trained teacher)',
    )
    parser.add_argument('--policy-card', default='', help='its policy card, if not beside it')
    parser.add_argument(
        '--compare',
        default=None,
        metavar='OTHER_CHECKPOINT',
        help='a second checkpoint run on the same matrix, side by side '
        "('shipped' for the shipped teacher)",
    )
    parser.add_argument('--compare-card', default='', help='policy card of --compare')
    parser.add_argument(
        '--allow-torchscript',
        action='store_true',
        help='allow TorchScript checkpoints (their code runs: trusted files only)',
    )
    parser.add_argument(
        '--preset', default='full', choices=sorted(PRESETS), help='named matrix (default: full)'
    )
    parser.add_argument(
        '--terrains', default='', help=f'comma-separated, from {",".join(TERRAINS)}'
    )
    parser.add_argument('--difficulties', default='', help='comma-separated levels in [0, 1]')
    parser.add_argument(
        '--perturbations', default='', help=f'comma-separated, from {",".join(PERTURBATIONS)}'
    )
    parser.add_argument('--seeds', default='', help='comma-separated seeds, or :N for 0..N-1')
    parser.add_argument(
        '--duration',
        type=float,
        default=12.0,
        help='simulated seconds per episode at most (default 12; an episode '
        'ends 1 s after its goal or at a fall)',
    )
    parser.add_argument('--vx', type=float, default=0.5, help='forward command, m/s')
    parser.add_argument(
        '--soft-start',
        type=float,
        default=0.5,
        help="the controller's soft start before the policy runs, s",
    )
    parser.add_argument(
        '--backend',
        default='local',
        choices=BACKENDS,
        help='local worker processes (default) or a Ray cluster',
    )
    parser.add_argument(
        '--workers',
        type=int,
        default=max(1, (os.cpu_count() or 2) - 0),
        help='local worker processes (Ray: CPUs of a local instance)',
    )
    parser.add_argument(
        '--address',
        default='',
        help="Ray cluster address (e.g. 'auto', 'ray://head:10001'); empty: a local Ray instance",
    )
    parser.add_argument('--out', default='gate_out', help='output folder (default gate_out)')
    parser.add_argument(
        '--recordings',
        default='failures',
        choices=('failures', 'all', 'none'),
        help='which episodes keep an MCAP recording (default failures)',
    )
    parser.add_argument(
        '--gate',
        default=None,
        metavar='THRESHOLDS.yaml',
        help='exit 1 when the checkpoint falls below these thresholds',
    )
    parser.add_argument('--no-report', action='store_true', help='JSON only, no HTML/plots')
    parser.add_argument('--quiet', action='store_true', help='no progress on stderr')
    parser.add_argument(
        '--list', action='store_true', help='print the episodes of the matrix and exit'
    )
    return parser


def _checkpoint_label(path: str) -> str:
    return path if path else 'shipped go2_parkour_teacher'


def _specs(args: argparse.Namespace, out: Path) -> list[EpisodeSpec]:
    matrix = build_matrix(
        args.preset, args.terrains, args.difficulties, args.perturbations, args.seeds
    )
    template = EpisodeSpec(
        'flat',
        0.0,
        'nominal',
        0,
        checkpoint=args.checkpoint,
        policy_card=args.policy_card,
        label='candidate',
        duration_s=args.duration,
        vx=args.vx,
        soft_start_s=args.soft_start,
        record_dir=str(out.resolve()),
        keep_recordings=args.recordings,
        allow_torchscript=args.allow_torchscript,
    )
    specs = matrix.specs(template)
    if args.compare is not None:
        other = '' if args.compare == 'shipped' else args.compare
        specs += [
            replace(s, label='baseline', checkpoint=other, policy_card=args.compare_card)
            for s in specs
        ]
    return specs


def main(argv: Sequence[str] | None = None) -> int:
    """Run the gate; return the exit code."""
    args = build_parser().parse_args(argv)
    out = Path(args.out)
    try:
        thresholds = load_thresholds(args.gate) if args.gate else None
        specs = _specs(args, out)
    except (MatrixError, ThresholdError, ValueError, OSError) as exc:
        print(f'parkour_gate: {exc}', file=sys.stderr)
        return 2
    if args.list:
        for spec in specs:
            print(spec.key)
        return 0
    if args.duration <= 0.0 or args.workers < 1:
        print('parkour_gate: --duration must be > 0 and --workers >= 1', file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    progress = Progress(len(specs), None if args.quiet else sys.stderr)
    started = time.perf_counter()
    try:
        episodes = run_specs(specs, args.backend, args.workers, args.address, progress)
    except RunnerError as exc:
        print(f'parkour_gate: {exc}', file=sys.stderr)
        return 2
    wall = round(time.perf_counter() - started, 2)
    checkpoints: dict[str, dict[str, Any]] = {
        'candidate': {
            'checkpoint': _checkpoint_label(args.checkpoint),
            'policy_card': args.policy_card,
        }
    }
    if args.compare is not None:
        checkpoints['baseline'] = {
            'checkpoint': _checkpoint_label('' if args.compare == 'shipped' else args.compare),
            'policy_card': args.compare_card,
        }
    run = {
        'episodes': len(episodes),
        'backend': args.backend,
        'workers': args.workers,
        'address': args.address,
        'wall_time_s': wall,
        'duration_s': args.duration,
        'vx': args.vx,
        'soft_start_s': args.soft_start,
        'preset': args.preset,
        'created_unix': round(time.time(), 1),
        'simulated_s': round(sum(e.get('sim_time_s') or 0.0 for e in episodes), 1),
    }
    card = finite_or_none(build_scorecard(episodes, checkpoints, run, thresholds))
    (out / 'scorecard.json').write_text(json.dumps(card, indent=1), encoding='utf-8')
    report = None if args.no_report else _report(card, out)
    _print_summary(card, out, report)
    gate = card.get('gate')
    return 1 if gate is not None and not gate['passed'] else 0


def _report(card: dict[str, Any], out: Path) -> Path | None:
    try:
        from krabby_parkour_ros.gate.report import write_report

        return write_report(card, out)
    except ImportError as exc:
        print(f'parkour_gate: no HTML report ({exc}); pip install matplotlib', file=sys.stderr)
        return None


def _print_summary(card: dict[str, Any], out: Path, report: Path | None) -> None:
    run = card['run']
    print(
        f'{run["episodes"]} episodes ({run["simulated_s"]} s simulated) in '
        f'{run["wall_time_s"]} s wall, backend {run["backend"]}, {run["workers"]} workers'
    )
    for label, s in card['summary'].items():
        print(
            f'[{label}] {card["checkpoints"][label]["checkpoint"]}: success '
            f'{s["success_rate"]} over {s["non_fault_episodes"]} non-fault episodes; '
            f'outcomes {s["outcomes"]}'
        )
        print(
            '  hardest difficulty passed (nominal): '
            + ', '.join(f'{t} {d}' for t, d in s['hardest_difficulty_passed'].items())
        )
        print(
            '  by perturbation: '
            + ', '.join(f'{p} {r}' for p, r in s['success_rate_by_perturbation'].items())
        )
        below = ', '.join(s['failing_perturbations']) or 'none'
        print(f'  perturbations below nominal: {below}')
    gate = card.get('gate')
    if gate is not None:
        print(
            f'gate: {"PASSED" if gate["passed"] else "FAILED"}'
            + ''.join(f'\n  - {v}' for v in gate['violations'])
        )
    print(f'scorecard: {out / "scorecard.json"}' + (f'; report: {report}' if report else ''))

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


"""Gate matrix and scorecard: cells, hardest level passed, thresholds."""

import pytest

from krabby_parkour_ros.gate.episode import EpisodeSpec
from krabby_parkour_ros.gate.matrix import build_matrix, Matrix, MatrixError, PRESETS
from krabby_parkour_ros.gate.scorecard import (
    build_scorecard,
    check_gate,
    hardest_passed,
    load_thresholds,
    summarize,
    ThresholdError,
)


def _episode(terrain, difficulty, perturbation, seed, success, label='candidate', clamps=0):
    spec = EpisodeSpec(terrain, difficulty, perturbation, seed, label=label)
    return {
        'key': spec.key,
        'spec': {
            'terrain': terrain,
            'difficulty': difficulty,
            'perturbation': perturbation,
            'seed': seed,
            'label': label,
        },
        'outcome': 'success' if success else 'fell',
        'success': success,
        'reason': '' if success else 'fell at 2.00 s',
        'distance_m': 4.0 if success else 1.0,
        'progress': 1.0 if success else 0.25,
        'time_to_fall_s': None if success else 2.0,
        'wire_clamps': {'FR_hip_joint': clamps} if clamps else {},
        'mapper_clamps': {},
        'tick_latency_ms': {'p50': 0.5, 'p99': 2.0, 'max': 3.0},
        'recording': None,
    }


def test_matrix_cells_run_flat_once_and_presets_are_valid() -> None:
    matrix = Matrix(('flat', 'gap'), (0.0, 0.5), ('nominal', 'latency'), (0, 1))
    assert matrix.cells() == [
        ('flat', 0.0, 'nominal'),
        ('flat', 0.0, 'latency'),
        ('gap', 0.0, 'nominal'),
        ('gap', 0.0, 'latency'),
        ('gap', 0.5, 'nominal'),
        ('gap', 0.5, 'latency'),
    ]
    specs = matrix.specs(EpisodeSpec('flat', 0.0, 'nominal', 0, duration_s=6.0))
    assert len(specs) == 12 and {s.duration_s for s in specs} == {6.0}
    assert len({s.key for s in specs}) == 12
    assert len(PRESETS['full'].specs(EpisodeSpec('flat', 0.0, 'nominal', 0))) >= 500
    custom = build_matrix('smoke', terrains='step,stones', difficulties='0,1', seeds=':3')
    assert custom.terrains == ('step', 'stones') and custom.seeds == (0, 1, 2)
    assert custom.difficulties == (0.0, 1.0)
    with pytest.raises(MatrixError, match='terrains'):
        build_matrix('smoke', terrains='lava')
    with pytest.raises(MatrixError, match='perturbations'):
        build_matrix('smoke', perturbations='earthquake')
    with pytest.raises(MatrixError, match='preset'):
        build_matrix('huge')


def test_hardest_passed_counts_levels_from_the_easiest_up() -> None:
    episodes = [
        _episode('gap', 0.0, 'nominal', 0, True),
        _episode('gap', 0.5, 'nominal', 0, True),
        _episode('gap', 1.0, 'nominal', 0, False),
        _episode('box', 0.0, 'nominal', 0, False),
        _episode('box', 0.5, 'nominal', 0, True),
        _episode('gap', 1.0, 'latency', 0, True),
    ]
    assert hardest_passed(episodes) == {'gap': 0.5, 'box': None}
    assert hardest_passed(episodes, 'latency') == {'gap': 1.0}


def test_summary_leaves_faults_out_of_the_success_rate() -> None:
    episodes = [_episode('flat', 0.0, 'nominal', s, True) for s in range(3)]
    episodes += [_episode('flat', 0.0, 'obs_noise', 0, False, clamps=4)]
    episodes += [_episode('flat', 0.0, 'fault_swapped_legs', s, False) for s in range(3)]
    summary = summarize(episodes)
    assert summary['success_rate'] == 0.75 and summary['non_fault_episodes'] == 4
    assert summary['failing_perturbations'] == ['obs_noise']
    detected = summary['fault_detection']['fault_swapped_legs']
    assert detected == {'success_rate': 0.0, 'nominal': 1.0}
    assert summary['mean_wire_clamps_per_episode'] == 1.0


def test_gate_thresholds_pass_and_fail(tmp_path) -> None:
    episodes = [_episode('gap', d, 'nominal', 0, d < 1.0) for d in (0.0, 0.5, 1.0)]
    episodes += [_episode('gap', 0.5, 'latency', 0, False)]
    summary = summarize(episodes)
    assert (
        check_gate(
            summary,
            {
                'min_success_rate': 0.5,
                'min_hardest_difficulty': {'gap': 0.5},
                'max_tick_latency_p99_ms': 5.0,
            },
        )
        == []
    )
    violations = check_gate(
        summary,
        {
            'min_success_rate': 0.9,
            'min_success_rate_by_perturbation': {'latency': 0.5},
            'min_hardest_difficulty': {'gap': 1.0},
            'max_wire_clamps_per_episode': 0,
            'max_tick_latency_p99_ms': 1.0,
        },
    )
    assert len(violations) == 4, violations
    path = tmp_path / 'thresholds.yaml'
    path.write_text('min_success_rate: 0.9\nmin_hardest_difficulty: {gap: 0.5}\n')
    assert load_thresholds(str(path)) == {
        'min_success_rate': 0.9,
        'min_hardest_difficulty': {'gap': 0.5},
    }
    path.write_text('min_sucess_rate: 0.9\n')
    with pytest.raises(ThresholdError, match='min_sucess_rate'):
        load_thresholds(str(path))


def test_scorecard_compares_two_checkpoints_and_gates_the_candidate() -> None:
    episodes = [
        _episode('box', 0.5, 'nominal', 0, True),
        _episode('box', 0.5, 'nominal', 0, False, label='baseline'),
    ]
    card = build_scorecard(
        episodes,
        {'candidate': {'checkpoint': 'a'}, 'baseline': {'checkpoint': 'b'}},
        {'episodes': 2},
        {'min_success_rate': 1.0},
    )
    assert card['summary']['candidate']['success_rate'] == 1.0
    assert card['summary']['baseline']['success_rate'] == 0.0
    assert card['gate']['passed'] and card['gate']['checkpoint'] == 'candidate'
    assert [f['label'] for f in card['failures']] == ['baseline']
    rates = {(c['label'], c['success_rate']) for c in card['cells']}
    assert rates == {('candidate', 1.0), ('baseline', 0.0)}

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


"""CI smoke matrix: the gate command end to end on local worker processes (well under 2 min)."""

import json
from pathlib import Path

import pytest

from krabby_parkour_ros.gate.cli import main

pytestmark = pytest.mark.slow


def test_smoke_matrix_writes_scorecard_report_recordings_and_gates(tmp_path: Path) -> None:
    pytest.importorskip('matplotlib')
    thresholds = tmp_path / 'thresholds.yaml'
    # The correct deployment passes nominal; the 40 ms fault must score below it, so
    # demanding it pass makes the gate fail (exit 1).
    thresholds.write_text(
        'min_success_rate_by_perturbation: {nominal: 1.0, fault_latency_40ms: 1.0}\n'
    )
    out = tmp_path / 'gate'
    code = main(
        [
            '--preset',
            'smoke',
            '--terrains',
            'flat,box',
            '--difficulties',
            '0.5',
            '--perturbations',
            'nominal,fault_latency_40ms',
            '--duration',
            '8',
            '--workers',
            '2',
            '--out',
            str(out),
            '--gate',
            str(thresholds),
            '--quiet',
            '--compare',
            'shipped',
        ]
    )
    assert code == 1
    card = json.loads((out / 'scorecard.json').read_text())
    assert card['run']['episodes'] == 8 and card['run']['backend'] == 'local'
    candidate = card['summary']['candidate']
    assert candidate['success_rate_by_perturbation'] == {'nominal': 1.0, 'fault_latency_40ms': 0.0}
    # The same shipped checkpoint as baseline gives the same episodes (deterministic).
    assert card['summary']['baseline']['outcomes'] == candidate['outcomes']
    assert card['gate']['violations'] == [
        'success_rate_by_perturbation[fault_latency_40ms]: 0.0 < 1.0'
    ]
    failures = [f for f in card['failures'] if f['label'] == 'candidate']
    assert len(failures) == 2
    for failure in failures:
        assert Path(failure['recording']).is_file()
    html = (out / 'report.html').read_text()
    for name in (
        'heatmap_nominal.png',
        'heatmap_fault_latency_40ms.png',
        'latency.png',
        'clamps.png',
        'distance.png',
        'time_to_fall.png',
    ):
        assert (out / 'plots' / name).stat().st_size > 1000
        assert f'plots/{name}' in html
    assert 'recordings/candidate__box__d0.50__fault_latency_40ms__s0.mcap' in html


def test_bad_arguments_exit_2(tmp_path: Path, capsys) -> None:
    assert main(['--terrains', 'lava', '--out', str(tmp_path)]) == 2
    assert 'terrains' in capsys.readouterr().err
    assert main(['--preset', 'smoke', '--list']) == 0
    assert 'candidate__gap__d0.50__latency__s0' in capsys.readouterr().out

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

"""parkour_report on a short simulated recording."""

import json
from pathlib import Path

import pytest

from krabby_parkour_ros.recording import report
from krabby_parkour_ros.recording.recorder import HalRecorder

from .conftest import ERROR_INDEX, GAP_INDEX, GAP_S, MODE_CHANGES

PNG_MAGIC = b'\x89PNG\r\n\x1a\n'
GO2_JOINTS = [
    'FR_hip_joint',
    'FR_thigh_joint',
    'FR_calf_joint',
    'FL_hip_joint',
    'FL_thigh_joint',
    'FL_calf_joint',
    'RR_hip_joint',
    'RR_thigh_joint',
    'RR_calf_joint',
    'RL_hip_joint',
    'RL_thigh_joint',
    'RL_calf_joint',
]


@pytest.fixture(scope='module')
def made_report(sim_recording, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp('report')
    summary = report.make_report(str(sim_recording.path), out)
    return out, summary, sim_recording


def test_plots_and_summary_are_written(made_report) -> None:
    out, summary, _ = made_report
    for name in report.PLOT_NAMES:
        data = (out / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 10_000
    assert json.loads((out / 'summary.json').read_text()) == json.loads(json.dumps(summary))
    assert set(summary) >= {
        'duration_s',
        'observations',
        'commands',
        'latency_ms',
        'modes',
        'errors',
        'base_velocity',
        'joints',
        'topics',
        'recording',
        'plots',
    }


def test_counts_and_latency(made_report) -> None:
    _, summary, recording = made_report
    assert summary['observations']['count'] == recording.published == 200
    assert summary['commands']['count'] == 200
    assert summary['commands']['answered_observations'] == 200
    latency = summary['latency_ms']
    assert latency['count'] == 200 and 0.0 < latency['p50'] <= latency['p99'] <= latency['max']
    # The peer paused GAP_S before answering observation GAP_INDEX.
    assert latency['max'] >= GAP_S * 1e3
    assert summary['topics']['/hal/observation'] == 200
    assert summary['recording']['truncated'] is False


def test_modes_holds_gaps_and_errors(made_report) -> None:
    _, summary, recording = made_report
    spans = summary['modes']['spans']
    assert [s['mode'] for s in spans] == [MODE_CHANGES[i] for i in sorted(MODE_CHANGES)]
    t0 = recording.mode_walls[0]
    hold = summary['modes']['holds']
    assert [h['mode'] for h in hold] == ['hold_stale']
    assert hold[0]['start_s'] == pytest.approx((recording.mode_walls[GAP_INDEX] - t0) / 1e9)
    assert hold[0]['end_s'] == pytest.approx((recording.mode_walls[125] - t0) / 1e9)
    gaps = summary['observations']['gaps']
    assert len(gaps) == 1 and gaps[0]['duration_ms'] >= GAP_S * 1e3
    assert [e['text'] for e in summary['errors']] == ['parkour_node: control: test fault']
    assert summary['errors'][0]['t_s'] > hold[0]['start_s']
    assert ERROR_INDEX > GAP_INDEX
    assert set(summary['modes']['seconds']) == set(MODE_CHANGES.values())


def test_joint_names_and_velocity(made_report) -> None:
    _, summary, _ = made_report
    # Names come from the recorded /joint_states; the spare slots are left out.
    assert list(summary['joints']) == GO2_JOINTS
    for values in summary['joints'].values():
        assert 0.0 <= values['rmse_rad'] <= values['max_abs_error_rad'] < 0.5
    velocity = summary['base_velocity']
    assert velocity['available'] is True
    assert abs(velocity['mean_vx']) < 0.2  # standing still
    assert velocity['command_source'] == 'cmd_vel (/cmd_vel)'
    assert 0.0 < velocity['mean_commanded_vx'] < 0.3


def test_cli_with_joint_map(sim_recording, tmp_path: Path, capsys) -> None:
    out = tmp_path / 'cli'
    assert (
        report.main(
            [
                str(sim_recording.path),
                '--out',
                str(out),
                '--joint-map',
                'go2_sim',
                '--gap-threshold',
                '0.5',
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    assert 'reading recording: 100%' in captured.err
    assert '200 observations' in captured.out
    summary = json.loads((out / 'summary.json').read_text())
    assert list(summary['joints']) == sorted(GO2_JOINTS, key=GO2_JOINTS.index)
    assert summary['observations']['gaps'] == []  # 0.15 s < 0.5 s


def test_recording_without_observations_fails(tmp_path: Path, capsys) -> None:
    from std_msgs.msg import String

    recorder = HalRecorder(tmp_path / 'empty.mcap')
    recorder.record_ros('/parkour_node/mode', String(data='waiting'))
    recorder.close()
    assert report.main([str(tmp_path / 'empty.mcap'), '--quiet']) == 1
    assert 'at least one valid observation' in capsys.readouterr().err
    assert report.main([str(tmp_path / 'empty.mcap'), '--gap-threshold', '0']) == 2
    assert report.main([str(tmp_path / 'nothing.mcap')]) == 1


def test_twist_stamped_commands_are_read_as_navigation() -> None:
    from geometry_msgs.msg import Twist, TwistStamped

    series = report.RecordingSeries()
    stamped = TwistStamped()
    stamped.twist.linear.x = 0.5
    stamped.twist.angular.z = -0.25
    report._ros(series, '/cmd_vel', 'geometry_msgs/msg/TwistStamped', 10, stamped)
    plain = Twist()
    plain.linear.x = 0.3
    report._ros(series, '/cmd_vel', 'geometry_msgs/msg/Twist', 20, plain)
    assert series.nav == [(10, 0.5, -0.25), (20, 0.3, 0.0)]
    assert series.nav_source == '/cmd_vel'

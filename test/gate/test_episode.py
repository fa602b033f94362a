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


"""Gate episodes: the real controller in lockstep, deterministic per seed, and sensitive."""

from pathlib import Path

import pytest

from krabby_parkour_ros.gate.episode import EpisodeSpec, Pilot, run_episode

pytestmark = pytest.mark.slow

#: Fields that measure the machine (wall clock), not the episode.
WALL_CLOCK_FIELDS = ('wall_s', 'tick_latency_ms', 'inference_ms')


def _episode(result):
    return {k: v for k, v in result.items() if k not in WALL_CLOCK_FIELDS}


def test_the_same_seed_gives_the_same_episode_twice() -> None:
    spec = EpisodeSpec('stones', 0.5, 'obs_noise', seed=3, duration_s=3.0)
    first, second = run_episode(spec), run_episode(spec)
    assert first['outcome'] != 'error', first['reason']
    assert first['counters']['policy_steps'] > 100
    assert _episode(first) == _episode(second)
    other = run_episode(EpisodeSpec('stones', 0.5, 'obs_noise', seed=4, duration_s=3.0))
    assert other['course'] != first['course']  # a seed changes the draws


def test_the_teacher_climbs_a_half_metre_box_and_wrong_deployments_fail() -> None:
    results = {
        p: run_episode(EpisodeSpec('box', 1.0, p, seed=0, duration_s=8.0))
        for p in ('nominal', 'fault_swapped_legs', 'fault_transposed_scan', 'fault_latency_40ms')
    }
    nominal = results['nominal']
    assert nominal['outcome'] == 'success', nominal['reason']
    assert nominal['course']['summary']['height_m'] == pytest.approx(0.5)
    assert nominal['wire_clamps'] == {} and nominal['lockstep_timeouts'] == 0
    for name in ('fault_swapped_legs', 'fault_transposed_scan', 'fault_latency_40ms'):
        fault = results[name]
        assert fault['outcome'] in ('fell', 'stuck'), (name, fault['outcome'])
        assert fault['progress'] < nominal['progress'], name


def test_a_missing_base_velocity_without_estimator_is_refused() -> None:
    result = run_episode(EpisodeSpec('flat', 0.0, 'missing_base_velocity', seed=0))
    assert result['outcome'] == 'refused'
    assert 'base velocity' in result['reason']


def test_failures_keep_their_recording_and_successes_do_not(tmp_path: Path) -> None:
    failed = run_episode(
        EpisodeSpec(
            'flat', 0.0, 'fault_swapped_legs', seed=0, duration_s=4.0, record_dir=str(tmp_path)
        )
    )
    assert failed['outcome'] == 'fell'
    recording = Path(failed['recording'])
    assert recording.is_file() and recording.stat().st_size > 10_000
    from krabby_parkour_ros.recording.reader import RecordingReader

    reader = RecordingReader(recording)
    assert {'/hal/observation', '/hal/command'} <= set(reader.topics())
    assert reader.metadata()['episode'] == failed['key']
    assert sum(1 for _ in reader.commands()) > 100
    passed = run_episode(
        EpisodeSpec('flat', 0.0, 'nominal', seed=0, duration_s=8.0, record_dir=str(tmp_path))
    )
    assert passed['outcome'] == 'success' and passed['recording'] is None
    assert sorted(p.name for p in (tmp_path / 'recordings').iterdir()) == [recording.name]


def test_pilot_steers_toward_the_next_waypoint() -> None:
    pilot = Pilot([(1.0, 1.0), (5.0, 0.0)], gain=2.0, max_rate=1.0)
    assert pilot.yaw_rate([0.0, 0.0, 0.3], 0.0) == pytest.approx(1.0)  # 45 deg left: limited
    assert pilot.yaw_rate([0.0, 0.0, 0.3], 0.7854) == pytest.approx(0.0, abs=1e-4)
    assert pilot.yaw_rate([2.0, 0.0, 0.3], 0.0) == pytest.approx(0.0)  # first one passed
    assert pilot.yaw_rate([2.0, 0.0, 0.3], None) == 0.0

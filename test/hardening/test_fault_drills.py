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
Fault drills against the running controller: safe behaviour, then recovery by itself.

Each test runs one drill of :mod:`.drills` (real controller, shipped
teacher, scripted HAL) and checks the defined safe behaviour
(``docs/safety.md``): the mode sequence, every command 18 finite values and
none rejected by the HAL, holds repeating the last target, and recovery
without help once the cause is gone (within 5 s: no other timing checks;
the measured recovery times are in ``benchmarks/results/fault_drills.json``).
"""

from typing import Any

import pytest

from .drills import (
    drill_hal_restart,
    drill_malformed,
    drill_node,
    drill_pause,
    drill_policy,
    drill_timestamps,
    DRILL_TIMINGS,
)

#: Multi-second runs: behind the slow marker (colcon test skips it; CI runs it).
pytestmark = pytest.mark.slow


def assert_safe(result: dict[str, Any]) -> None:
    safety = result['safety']
    assert safety['commands'] > 50
    assert safety['all_finite'], 'a command with NaN/Inf or the wrong length reached the HAL'
    assert safety['hal_rejections'] == {}, safety['hal_rejections']
    assert safety['non_finite_blocked'] == 0
    assert safety['controller_error'] is None
    assert safety['hal_error'] is None, 'the scripted HAL failed: the drill is void'


def assert_recovered(recovery: dict[str, Any], ramp: bool) -> None:
    assert recovery['recovered'], recovery
    assert recovery['link_s'] is not None and recovery['running_s'] is not None
    assert recovery['link_s'] < 5.0 and recovery['running_s'] < 5.0
    assert recovery['ramped'] is ramp, recovery
    assert recovery['modes_after'][-1] == 'running'


def test_hal_killed_and_restarted_on_the_same_port() -> None:
    result = drill_hal_restart(outages_s=(0.2, 1.0, 0.2))
    assert_safe(result)
    assert result['restarts'] == 3
    assert result['reconnects'] >= 3
    # Commands while the HAL is down are dropped (never queued and delivered stale).
    assert result['commands_dropped'] > 0
    for cycle in result['cycles']:
        assert cycle['modes_during'] == ['running', 'hold_stale'], cycle
        assert cycle['holds_repeat'], 'the hold target changed while the HAL was down'
        assert_recovered(cycle, ramp=cycle['outage_s'] > DRILL_TIMINGS['stale_resume_window'])


def _after_first_fresh(modes):
    # A tick between the resume and the first fresh observation's arrival is
    # still (rightly) stale: drop those leading hold_stale ticks.
    while modes and modes[0] == 'hold_stale':
        modes = modes[1:]
    return modes


def test_hal_paused_short_resumes_the_policy_long_ramps_first() -> None:
    result = drill_pause(pauses_s=(0.2, 1.2))
    assert_safe(result)
    assert result['stale_events'] == 2
    short, long = result['cycles']
    for cycle in (short, long):
        assert cycle['modes_during'] == ['running', 'hold_stale'], cycle
        assert cycle['holds_repeat']
    assert_recovered(short, ramp=False)
    assert _after_first_fresh(short['modes_after']) == ['running']
    assert_recovered(long, ramp=True)
    assert _after_first_fresh(long['modes_after']) == ['soft_start', 'running']


def test_old_and_backwards_timestamps_are_never_answered() -> None:
    result = drill_timestamps(old_seconds=0.6)
    assert_safe(result)
    old = result['interleaved_old']
    assert old['injected'] >= 10
    assert old['answered_old'] == 0
    assert old['timestamp_rejections'] == old['injected']
    assert old['modes'] == ['running']
    jump = result['clock_jump_back']
    assert jump['timestamp_resyncs'] == 1
    # Until the client re-syncs (20 messages) the data is stale: hold, then resume.
    assert jump['modes_during'][:3] == ['running', 'hold_stale', 'running'], jump
    assert_recovered(jump, ramp=False)


def test_malformed_bursts_are_counted_and_never_answered() -> None:
    result = drill_malformed(interleaved_s=0.6, only_malformed_s=0.3)
    assert_safe(result)
    interleaved = result['interleaved']
    assert interleaved['rejected'] == interleaved['injected']
    assert interleaved['modes'] == ['running']
    assert len(interleaved['rejections']) >= 9, interleaved['rejections']
    assert result['answered_malformed'] == 0
    assert result['answered_unpublished'] == 0
    only = result['only_malformed']
    assert only['modes_during'] == ['running', 'hold_stale']
    assert_recovered(only, ramp=False)


def test_policy_failures_hold_recover_and_latch() -> None:
    result = drill_policy(transient=3)
    assert_safe(result)
    for phase in result['transient']:
        assert phase['failures'] == 3
        assert 'hold_fault' in phase['modes_during']
        assert phase['holds_repeat'], 'the target moved while the policy failed'
        assert not phase['latched']
        assert_recovered(phase, ramp=False)
        assert phase['modes_after'] == ['hold_fault', 'running']
    latch = result['latch']
    assert latch['latched'] and latch['thread_stopped']
    assert latch['failures_until_latch'] == latch['max_consecutive_failures']
    assert latch['fault_latches'] == 1
    assert latch['final_command_is_last_good']
    assert latch['failures_by_reason'] == {'exception': 3 + 5, 'mapping': 3}


@pytest.mark.slow
def test_node_process_holds_and_recovers_by_itself() -> None:
    pytest.importorskip('rclpy')
    result = drill_node(pause_s=0.35, outage_s=1.0)
    assert_safe(result)
    assert result['node_exit_code'] == 0
    pause, restart = result['cycles']
    for cycle in (pause, restart):
        assert cycle['recovered'], cycle
        assert cycle['link_s'] < 5.0 and cycle['running_s'] < 5.0
        assert cycle['modes'][0] == 'running' and cycle['modes'][-1] == 'running', cycle
        assert 'hold_stale' in cycle['modes'], cycle
    assert 'soft_start' not in pause['modes']
    assert restart['modes'] == ['running', 'hold_stale', 'soft_start', 'running']

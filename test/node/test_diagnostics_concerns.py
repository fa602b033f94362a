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
Issue #14 part 5: /diagnostics has one status per concern, and they warn.

The node runs in-process against the scripted HAL; a delay injected after
each tick makes every following tick late: ``parkour_node: control loop``
turns WARN with the share of late ticks in the message, and OK again once
the delay is gone (the judgement is over the last period, not since start).
Every status names the robot in ``hardware_id``.
"""

import dataclasses
import threading
import time

from diagnostic_msgs.msg import DiagnosticStatus
import numpy as np
import pytest

from krabby_parkour_ros.control.stats import RollingSamples
from krabby_parkour_ros.node.diagnostics import (
    CONCERNS,
    DiagnosticThresholds,
    DiagnosticThresholdsError,
    robot_hardware_id,
    THRESHOLD_PREFIX,
)
from krabby_parkour_ros.node.parameters import SPECS

from .test_launch_and_params import load_params_file
from .test_parkour_node import Listener, make_node, SUCCESS, wait_for

NAMES = {'parkour_node: control'} | {f'parkour_node: {concern}' for concern in CONCERNS}


@pytest.fixture
def listener(peer_context, spin):
    node = Listener(peer_context)
    yield node
    spin.retire(node.node)


def _latest(listener: Listener, name: str) -> DiagnosticStatus | None:
    for array in reversed(listener.messages['diagnostics']):
        for status in array.status:
            if status.name == name:
                return status
    return None


def _level_is(listener: Listener, name: str, level: bytes, since: int) -> bool:
    """Return True when a /diagnostics message after index ``since`` has ``name`` at ``level``."""
    for array in listener.messages['diagnostics'][since:]:
        for status in array.status:
            if status.name == name and status.level == level:
                return True
    return False


# -- parameters ---------------------------------------------------------------------------


def test_every_threshold_is_a_declared_parameter_with_the_same_default():
    values = load_params_file()
    defaults = DiagnosticThresholds()
    for field in dataclasses.fields(DiagnosticThresholds):
        name = THRESHOLD_PREFIX + field.name
        assert name in SPECS, name
        assert SPECS[name].default == getattr(defaults, field.name), name
        assert values[name] == getattr(defaults, field.name), name
        assert SPECS[name].value_range is not None, name
    assert DiagnosticThresholds.from_values(values.__getitem__) == defaults


def test_a_warn_threshold_above_its_error_threshold_is_refused():
    with pytest.raises(DiagnosticThresholdsError, match='late_tick_warn_ratio'):
        DiagnosticThresholds(late_tick_warn_ratio=0.5, late_tick_error_ratio=0.1)
    with pytest.raises(DiagnosticThresholdsError, match='clear_periods'):
        DiagnosticThresholds(clear_periods=0)


def test_hardware_id_is_the_robot_name_else_the_joint_map():
    assert robot_hardware_id('krabby_01', 'krabby') == 'krabby_01'
    assert robot_hardware_id('', 'go2_sim') == 'go2_sim'


def test_recent_samples_are_the_newest_in_order_across_the_ring():
    samples = RollingSamples(capacity=4)
    for value in range(6):
        samples.add(float(value))
    assert samples.recent(3).tolist() == [3.0, 4.0, 5.0]
    assert samples.recent(10).tolist() == [2.0, 3.0, 4.0, 5.0]
    assert samples.recent(0).tolist() == []
    assert isinstance(samples.recent(2), np.ndarray)


# -- the node -----------------------------------------------------------------------------


@pytest.mark.parametrize('hal', ['inproc'], indirect=True)
def test_late_ticks_turn_the_control_loop_warn_then_ok(ros_context, spin, hal, listener):
    # ERROR thresholds out of reach: every tick is late while the delay is on.
    node = make_node(
        ros_context,
        hal,
        robot_name='krabby_test',
        stand_on_zero_command=False,
        diagnostics_period=0.25,
        **{
            'diagnostics.late_tick_error_ratio': 1.0,
            'diagnostics.latency_p99_error_ms': 1000.0,
            'diagnostics.clear_periods': 2,
        },
    )
    slow = threading.Event()
    tick = node._on_tick

    def slow_tick(result) -> None:
        tick(result)
        if slow.is_set():
            time.sleep(0.015)  # one and a half control periods

    node._on_tick = slow_tick
    spin(node, listener.node)
    name = 'parkour_node: control loop'
    try:
        assert node.trigger_configure() == SUCCESS and node.trigger_activate() == SUCCESS
        assert hal.wait_commands(50)
        assert wait_for(lambda: _level_is(listener, name, DiagnosticStatus.OK, 0)), _latest(
            listener, name
        )
        since = len(listener.messages['diagnostics'])
        slow.set()
        assert wait_for(lambda: _level_is(listener, name, DiagnosticStatus.WARN, since)), _latest(
            listener, name
        )
        warn = next(
            s
            for a in listener.messages['diagnostics'][since:]
            for s in a.status
            if s.name == name and s.level == DiagnosticStatus.WARN
        )
        values = {kv.key: kv.value for kv in warn.values}
        assert 'ticks late' in warn.message, warn.message
        assert float(values['period_late_tick_ratio']) > 0.05
        slow.clear()
        since = len(listener.messages['diagnostics'])
        assert wait_for(lambda: _level_is(listener, name, DiagnosticStatus.OK, since)), _latest(
            listener, name
        )
        last = listener.messages['diagnostics'][-1]
        assert {s.name for s in last.status} == NAMES
        assert {s.hardware_id for s in last.status} == {'krabby_test'}
        # The summary status keeps every key tools read (demo, soak).
        control = {kv.key: kv.value for kv in _latest(listener, 'parkour_node: control').values}
        assert {
            'mode',
            'late_ticks',
            'loop_rate_hz',
            'hal_received',
            'cmd_vel_received',
            'control_thread_scheduler',
        } <= set(control)
        print(f'WARN message: {warn.message}')
    finally:
        slow.clear()
        assert node.trigger_shutdown() == SUCCESS
        spin.retire(node)


@pytest.mark.parametrize('hal', ['inproc'], indirect=True)
def test_default_hardware_id_is_the_joint_map_and_recording_is_reported(
    ros_context, spin, hal, listener, tmp_path
):
    node = make_node(ros_context, hal, record_path=str(tmp_path / 'run.mcap'))
    spin(node, listener.node)
    try:
        assert node.trigger_configure() == SUCCESS and node.trigger_activate() == SUCCESS
        assert wait_for(lambda: _latest(listener, 'parkour_node: recording') is not None)
        status = _latest(listener, 'parkour_node: recording')
        values = {kv.key: kv.value for kv in status.values}
        assert values['recording'] == 'on' and values['recording_file'].endswith('run.mcap')
        assert status.hardware_id == 'go2_sim'
    finally:
        assert node.trigger_shutdown() == SUCCESS
        spin.retire(node)

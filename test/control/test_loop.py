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

"""The control thread: ticks until stopped, always ends by sending the hold target."""

import logging
import os
import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest

from krabby_parkour_ros import scheduling
from krabby_parkour_ros.control.config import ControlConfig, ControlConfigError
from krabby_parkour_ros.control.loop import ControlLoop
from krabby_parkour_ros.control.step import ControlMode, TickResult

from ..hardening.harness import wait_for
from ..support.scheduling import fifo_allowed

HOLD = np.arange(18, dtype=np.float32) * 0.01


class FakeStep:
    """Counts ticks; holds HOLD as its last safe target; can latch a fault."""

    def __init__(self, fault_after: int = 0) -> None:
        self.active = False
        self.ticks = 0
        self.fault_after = fault_after
        self.fault_latched = False
        self.last_error = ''
        self.shadow = False
        self.last_observation = SimpleNamespace(timestamp_ns=1234)

    def activate(self) -> None:
        self.active = True

    def deactivate(self):
        self.active = False
        return HOLD.copy()


class FakeDriver:
    def __init__(self, step: FakeStep, fail_at: int = 0) -> None:
        self.step = step
        self.fail_at = fail_at
        self.resets = 0
        self.threads: list[str] = []

    def reset(self) -> None:
        self.resets += 1

    def run_once(self, stop_after_s=None) -> TickResult:
        time.sleep(0.001)
        self.step.ticks += 1
        self.threads.append(threading.current_thread().name)
        if self.fail_at and self.step.ticks == self.fail_at:
            raise RuntimeError('tick bug')
        if self.step.fault_after and self.step.ticks >= self.step.fault_after:
            self.step.fault_latched = True
            self.step.last_error = 'inference: injected'
        return TickResult(mode=ControlMode.RUNNING)


class FakeSink:
    def __init__(self) -> None:
        self.sent: list[tuple[np.ndarray, int]] = []

    def put_joint_command(self, positions, stamp) -> None:
        self.sent.append((np.array(positions), stamp))


def test_ticks_in_its_own_thread_and_sends_the_hold_once_on_stop():
    step = FakeStep()
    driver = FakeDriver(step)
    sink = FakeSink()
    seen: list[TickResult] = []
    control = ControlLoop(step, driver, sink, on_tick=seen.append, name='ctl-test')
    control.start()
    assert step.active and driver.resets == 1
    assert wait_for(lambda: step.ticks >= 20, 5.0)
    with pytest.raises(RuntimeError, match='already running'):
        control.start()
    control.stop()
    assert not control.running and not step.active
    assert set(driver.threads) == {'ctl-test'}
    assert len(seen) >= 20
    assert len(sink.sent) == 1
    np.testing.assert_array_equal(sink.sent[0][0], HOLD)
    assert sink.sent[0][1] == 1234
    ticks = step.ticks
    time.sleep(0.05)
    assert step.ticks == ticks, 'ticked after stop'


def test_a_latched_fault_stops_the_thread_after_calling_on_fault():
    step = FakeStep(fault_after=5)
    sink = FakeSink()
    faults: list[int] = []
    control = ControlLoop(step, FakeDriver(step), sink, on_fault=lambda: faults.append(step.ticks))
    control.start()
    assert wait_for(lambda: not control.running, 5.0)
    assert faults == [5] and step.ticks == 5
    assert len(sink.sent) == 1
    control.stop()  # joining an ended thread is fine
    assert len(sink.sent) == 1


def test_an_exception_in_a_tick_is_kept_and_the_hold_is_sent():
    step = FakeStep()
    sink = FakeSink()
    control = ControlLoop(step, FakeDriver(step, fail_at=3), sink)
    control.start()
    assert wait_for(lambda: not control.running, 5.0)
    assert isinstance(control.error, RuntimeError) and 'tick bug' in str(control.error)
    assert len(sink.sent) == 1 and not step.active


def test_shadow_mode_sends_no_hold():
    step = FakeStep()
    step.shadow = True
    sink = FakeSink()
    control = ControlLoop(step, FakeDriver(step), sink)
    control.start()
    assert wait_for(lambda: step.ticks >= 3, 5.0)
    control.stop()
    assert sink.sent == []


def test_realtime_priority_applies_to_the_control_thread_not_the_caller():
    if not fifo_allowed():
        pytest.skip('SCHED_FIFO not permitted here (no CAP_SYS_NICE / rtprio limit)')
    step = FakeStep()
    policies = []

    class Probe(FakeDriver):
        def run_once(self, stop_after_s=None):
            if not policies:
                policies.append(os.sched_getscheduler(threading.get_native_id()))
            return super().run_once(stop_after_s)

    control = ControlLoop(step, Probe(step), FakeSink(), realtime_priority=10)
    control.start()
    assert wait_for(lambda: step.ticks >= 2, 5.0)
    control.stop()
    assert policies == [os.SCHED_FIFO]
    assert control.scheduler == 'fifo:10'
    assert os.sched_getscheduler(0) != os.SCHED_FIFO, 'the caller thread was changed'


def test_refused_realtime_priority_runs_on_with_a_warning(monkeypatch):
    def refuse(*args):
        raise PermissionError(1, 'Operation not permitted')

    monkeypatch.setattr(scheduling.os, 'sched_setscheduler', refuse)
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger(scheduling.__name__)
    logger.addHandler(handler)
    try:
        step = FakeStep()
        control = ControlLoop(step, FakeDriver(step), FakeSink(), realtime_priority=50)
        control.start()
        assert wait_for(lambda: step.ticks >= 3, 5.0)
        control.stop()
    finally:
        logger.removeHandler(handler)
    assert control.scheduler == 'default'
    assert any('control thread: SCHED_FIFO priority 50 refused' in r.getMessage() for r in records)


@pytest.mark.parametrize('value', [-1, 100, 1.5, True])
def test_realtime_priority_out_of_range_is_refused(value):
    with pytest.raises(ControlConfigError, match='realtime_priority'):
        ControlConfig(realtime_priority=value)


def test_a_callable_running_flag_works_like_an_event():
    # The Krabby compute README passes ``running_flag=lambda: True``; before,
    # the control thread died on 'function' object has no attribute 'is_set'.
    step = FakeStep()
    driver = FakeDriver(step)
    sink = FakeSink()
    control = ControlLoop(step, driver, sink)
    keep = {'go': True}
    control.start(lambda: keep['go'])
    assert wait_for(lambda: step.ticks >= 10, 5.0)
    assert control.running and control.error is None
    keep['go'] = False
    assert wait_for(lambda: not control.running, 5.0)
    assert len(sink.sent) == 1 and control.error is None
    control.stop()


def test_a_wrong_running_flag_is_refused_by_name():
    control = ControlLoop(FakeStep(), FakeDriver(FakeStep()), FakeSink())
    with pytest.raises(TypeError, match='running_flag: expected .* got int'):
        control.start(3)
    assert not control.running

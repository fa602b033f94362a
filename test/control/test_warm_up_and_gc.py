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

"""Warm-up before the expected observation, the GC timer and freeze, recorder kicks."""

import gc
from pathlib import Path
import time
from types import SimpleNamespace

import numpy as np
import pytest

from krabby_parkour_ros.control.config import ControlConfig
from krabby_parkour_ros.control.driver import TickDriver
from krabby_parkour_ros.control.loop import freeze_heap, GcMonitor, make_warm_up, PolicyWarmUp
from krabby_parkour_ros.hal.codec import encode_command
from krabby_parkour_ros.recording.recorder import HalRecorder
from ..hardening.test_driver_schedule import MS, PERIOD, run, World


def test_the_warm_up_runs_its_lead_before_each_expected_observation() -> None:
    arrivals = [k * PERIOD + 5 * MS for k in range(20)]
    world = World(arrivals)
    warm_times: list[int] = []
    driver = TickDriver(
        world, world, ControlConfig(control_rate=100.0), sleep=world.sleep, clock=world.clock
    )
    driver.set_warm_up(lambda: warm_times.append(world.now), 0.0004)
    while world.now < arrivals[-1] + PERIOD:
        driver.run_once(stop_after_s=0.1)
    # From the second observation on (the first sets the expectation), one warm-up
    # 0.4 ms before each arrival; every observation is still answered on arrival.
    assert warm_times[:19] == [t - 400_000 for t in arrivals[1:]]
    assert len(warm_times) == 20  # and one before the observation that never came
    assert [t - arrivals[s] for t, s in world.ticks if s is not None] == [0] * 20
    assert driver.warm_ups == len(warm_times)


def test_a_warm_up_that_declines_is_not_counted() -> None:
    arrivals = [k * PERIOD + 5 * MS for k in range(5)]
    world = World(arrivals)
    driver = TickDriver(
        world, world, ControlConfig(control_rate=100.0), sleep=world.sleep, clock=world.clock
    )
    driver.set_warm_up(lambda: False, 0.0004)
    while world.now < arrivals[-1] + PERIOD:
        driver.run_once(stop_after_s=0.1)
    assert driver.warm_ups == 0


def test_no_warm_up_keeps_the_schedule_unchanged() -> None:
    arrivals = [k * PERIOD + 5 * MS for k in range(20)]
    plain, warmed = World(arrivals), World(arrivals)
    run(plain, arrivals[-1] + PERIOD)
    driver = TickDriver(
        warmed, warmed, ControlConfig(control_rate=100.0), sleep=warmed.sleep, clock=warmed.clock
    )
    driver.set_warm_up(None, 0.0004)
    while warmed.now < arrivals[-1] + PERIOD:
        driver.run_once(stop_after_s=0.1)
    assert plain.ticks == warmed.ticks


class CountingModel:
    obs_dim = 4
    is_recurrent = False
    needs_depth = False

    def __init__(self) -> None:
        self.inputs: list[np.ndarray] = []

    def inference(self, model_io) -> None:
        self.inputs.append(model_io.observation.copy())


def tick(policy_ran: bool, value: float = 0.0) -> SimpleNamespace:
    vector = np.full(4, value, dtype=np.float32) if policy_ran else None
    return SimpleNamespace(policy_ran=policy_ran, policy_observation=vector)


def test_policy_warm_up_reuses_the_last_input_before_policy_ticks_only() -> None:
    model = CountingModel()
    warm = PolicyWarmUp(model)
    ran = []
    # Policy every second tick: P R P R P.
    for index in range(5):
        ran.append(warm())
        warm.remember(tick(index % 2 == 0, value=float(index)))
    # Until it has seen two policy ticks it warms before every tick; then only
    # before the ticks that run the policy (indexes 2 and 4).
    assert ran == [True, True, True, False, True]
    np.testing.assert_array_equal(model.inputs[-1], np.full(4, 2.0, dtype=np.float32))


def test_a_raising_model_never_ends_the_warm_up_caller() -> None:
    class Raising(CountingModel):
        def inference(self, model_io) -> None:
            raise RuntimeError('broken model')

    warm = PolicyWarmUp(Raising())
    assert warm() is False and warm() is False
    assert warm.failures == 2


def test_the_decoder_is_warmed_with_the_inference_before_policy_ticks() -> None:
    calls: list[str] = []

    class Model(CountingModel):
        def inference(self, model_io) -> None:
            calls.append('infer')

    warm = PolicyWarmUp(Model(), decoder=lambda: calls.append('decode'))
    # Policy every second tick, as above: warmed before ticks 0, 1, 2 and 4,
    # the decoder last (closest to the observation it prepares for).
    ran = []
    for index in range(5):
        ran.append(warm())
        warm.remember(tick(index % 2 == 0))
    assert ran == [True, True, True, False, True]
    assert calls == ['infer', 'decode'] * 4

    def broken_decoder() -> None:
        raise RuntimeError('decoder bug')

    warm = PolicyWarmUp(Model(), decoder=broken_decoder)
    assert warm() is False  # counted, never raised into the control thread
    assert warm.failures == 1
    assert make_warm_up(SimpleNamespace(is_recurrent=True, needs_depth=False), print) is None


def test_recurrent_or_depth_policies_are_never_warmed() -> None:
    assert make_warm_up(SimpleNamespace(is_recurrent=True, needs_depth=False)) is None
    assert make_warm_up(SimpleNamespace(is_recurrent=False, needs_depth=True)) is None
    assert make_warm_up(None) is None
    assert isinstance(make_warm_up(CountingModel()), PolicyWarmUp)


def test_gc_monitor_times_collections_and_freeze_empties_the_heap() -> None:
    monitor = GcMonitor().install()
    try:
        gc.collect(2)
        stats = monitor.stats()
        assert stats['gc_gen2_count'] >= 1
        assert stats['gc_gen2_max_ms'] > 0.0
        assert stats['gc_window_max_ms'] >= stats['gc_gen2_max_ms']
        monitor.reset_window()
        assert monitor.stats()['gc_window_max_ms'] == 0.0
    finally:
        monitor.uninstall()
        assert monitor._callback not in gc.callbacks
    try:
        assert freeze_heap() >= 0.0
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_a_kicked_recorder_writes_on_kicks_and_still_on_its_own(tmp_path: Path) -> None:
    recorder = HalRecorder(tmp_path / 'kicked.mcap', flush_interval_s=0.2)
    try:
        recorder.kick()
        frames = encode_command(np.zeros(18), 1)
        for _ in range(3):
            assert recorder.record_command(frames)
        recorder.kick()
        deadline = time.monotonic() + 5.0
        while recorder.stats()['written'] < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert recorder.stats()['written'] == 3
        # A record offered right after a kick waits for the next one; when no
        # kick comes, stats() (the diagnostics period) hands it over.
        assert recorder.record_command(frames)
        deadline = time.monotonic() + 5.0
        while recorder.stats()['written'] < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert recorder.stats()['written'] == 4
    finally:
        stats = recorder.close()
    assert stats['dropped'] == 0


class BusyWorld(World):
    """Observations are received when the driver gets to them (a warm-up delays that)."""

    def poll(self):  # type: ignore[no-untyped-def]
        observation = super().poll()
        if observation is not None:
            observation.receive_time_ns = max(observation.receive_time_ns, self.now)
        return observation


def test_a_late_receive_does_not_drag_the_next_warm_ups_onto_the_arrivals() -> None:
    # HAL on a 10 ms grid; one message 0.5 ms late (a HAL hiccup). The warm-up
    # takes 0.6 ms, its lead is 0.8 ms. Predicted from the late receive, the
    # next warm-up would run from 0.3 ms before to 0.3 ms after the next
    # arrival, which then waits in the socket, is received 0.3 ms late and
    # drags the warm-up after it too (0.1 ms): the feedback seen in the
    # benchmark's transport stage. On the HAL's phase nothing waits.
    arrivals = [k * PERIOD + 5 * MS for k in range(30)]
    arrivals[5] += 500_000
    world = BusyWorld(arrivals)
    starts: list[int] = []

    def warm_up() -> None:
        starts.append(world.now)
        world.now += 600_000

    driver = TickDriver(
        world, world, ControlConfig(control_rate=100.0), sleep=world.sleep, clock=world.clock
    )
    driver.set_warm_up(warm_up, 0.0008)
    while world.now < arrivals[-1] + PERIOD:
        driver.run_once(stop_after_s=0.1)
    delays = [t - arrivals[s] for t, s in world.ticks if s is not None]
    assert delays == [0] * 30
    # The warm-up after the hiccup starts 0.8 ms before the grid arrival, less
    # the 0.1 ms by which the prediction follows a late arrival.
    assert starts[5] == arrivals[6] - 800_000 + 100_000


def _run_with_warm_up(
    duration_ns: int, lead_s: float, count: int, slow: dict[int, int] | None = None
) -> tuple[list[int], TickDriver]:
    """
    Return the answer delays of ``count`` arrivals with a warm-up of fixed duration.

    :param slow: warm-up index -> its duration instead (a stall).
    """
    arrivals = [k * PERIOD + 5 * MS for k in range(count)]
    world = BusyWorld(arrivals)
    calls = [0]

    def warm_up() -> None:
        world.now += (slow or {}).get(calls[0], duration_ns)
        calls[0] += 1

    driver = TickDriver(
        world, world, ControlConfig(control_rate=100.0), sleep=world.sleep, clock=world.clock
    )
    driver.set_warm_up(warm_up, lead_s)
    while world.now < arrivals[-1] + PERIOD:
        driver.run_once(stop_after_s=0.1)
    delays = [t - arrivals[s] for t, s in world.ticks if s is not None]
    return delays, driver


def test_the_lead_grows_to_the_warm_ups_own_duration() -> None:
    # A warm-up of 1.2 ms with a configured lead of 0.4 ms: each arrival waits
    # 0.8 ms for it until the driver has measured 10 warm-ups; from then on the
    # lead is their duration plus the 0.2 ms margin and nothing waits.
    delays, driver = _run_with_warm_up(1_200_000, 0.0004, 40)
    assert driver.warm_up_lead_s == pytest.approx(0.0014)
    assert delays[1:5] == [800_000, 900_000, 1_000_000, 1_100_000]
    assert delays[13:] == [0] * 27
    assert driver.warm_up_durations.percentile(50) == pytest.approx(0.0012)


def test_a_fast_warm_up_keeps_the_configured_lead() -> None:
    delays, fast = _run_with_warm_up(100_000, 0.0008, 30)
    assert fast.warm_up_lead_s == pytest.approx(0.0008)
    assert delays == [0] * 30


def test_a_warm_up_longer_than_a_quarter_period_pauses() -> None:
    # 4 ms of warm-up at 100 Hz would need a 4.2 ms lead (more than the 2.5 ms
    # allowed): after 10 measured warm-ups it pauses, and nothing waits.
    delays, slow = _run_with_warm_up(4_000_000, 0.0004, 40)
    assert slow.warm_up_pauses == 1 and slow.warm_ups == 10
    assert delays[1:5] == [3_600_000, 3_700_000, 3_800_000, 3_900_000]
    assert delays[13:] == [0] * 27


def test_reset_returns_to_the_configured_lead() -> None:
    _, driver = _run_with_warm_up(1_200_000, 0.0004, 30)
    assert driver.warm_up_lead_s == pytest.approx(0.0014)
    driver.reset()
    assert driver.warm_up_lead_s == pytest.approx(0.0004)
    assert len(driver.warm_up_durations) == 0


def test_one_stalled_warm_up_caps_the_lead_and_does_not_pause() -> None:
    # Warm-ups of 0.6 ms, one of 8 ms (a VM stall): the 99th percentile of
    # the window asks for more than a quarter period, so the lead stops at
    # 2.5 ms; the median fits, so the warm-up goes on.
    _, driver = _run_with_warm_up(600_000, 0.0004, 30, slow={3: 8_000_000})
    assert driver.warm_up_pauses == 0
    assert driver.warm_up_lead_s == pytest.approx(0.0025)
    # Every expected observation is warmed for but the two the 8 ms stall ran over.
    assert driver.warm_ups == 28

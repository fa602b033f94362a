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
The tick schedule (TickDriver, observation-synchronised) on a simulated clock.

The rate limit is a virtual schedule counted from when ticks were due, so:
a HAL at the control rate is answered on arrival however its messages
jitter (up to half a period) and however late a previous tick ran; a faster
HAL is held to the control rate (plus the jitter allowance) on average; a
silent HAL gets deadline ticks half a period late.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from krabby_parkour_ros.control.config import ControlConfig
from krabby_parkour_ros.control.driver import TickDriver

MS = 1_000_000
PERIOD = 10 * MS


@dataclass
class FakeObservation:
    timestamp_ns: int
    receive_time_ns: int


class World:
    """A simulated clock, a latest-only observation source and a recording step."""

    def __init__(
        self, arrivals_ns: Sequence[int], wake_delay: Callable[[int], int] = lambda index: 0
    ) -> None:
        self.now = 0
        self.arrivals = list(arrivals_ns)
        self.returned = -1
        self.ticks: list[tuple[int, int | None]] = []
        self.wake_delay = wake_delay

    def clock(self) -> int:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += int(round(seconds * 1e9))

    def _newest_arrived(self) -> int:
        return max((i for i, t in enumerate(self.arrivals) if t <= self.now), default=-1)

    def poll(self) -> FakeObservation | None:
        newest = self._newest_arrived()
        if newest <= self.returned:
            return None
        self.returned = newest
        return FakeObservation(newest, self.arrivals[newest])

    def wait_for_observation(self, timeout_s: float) -> FakeObservation | None:
        observation = self.poll()
        if observation is not None:
            return observation
        upcoming = [t for t in self.arrivals[self.returned + 1 :] if t > self.now]
        limit = self.now + int(round(timeout_s * 1e9))
        if upcoming and upcoming[0] <= limit:
            self.now = upcoming[0]
            observation = self.poll()
            # The waiting thread may be woken late (descheduled, GIL, a hiccup).
            self.now += self.wake_delay(observation.timestamp_ns)
            return observation
        self.now = limit
        return None

    def tick(self, observation: FakeObservation | None = None, now_ns: int | None = None) -> None:
        self.ticks.append((self.now, None if observation is None else observation.timestamp_ns))


def run(world: World, until_ns: int) -> TickDriver:
    driver = TickDriver(
        world, world, ControlConfig(control_rate=100.0), sleep=world.sleep, clock=world.clock
    )
    while world.now < until_ns:
        driver.run_once(stop_after_s=0.1)
    return driver


def answer_delays(world: World) -> list[int]:
    """Return, per answered observation, tick time minus arrival time."""
    return [time - world.arrivals[stamp] for time, stamp in world.ticks if stamp is not None]


def test_a_jittery_hal_at_the_control_rate_is_answered_on_arrival() -> None:
    rng = np.random.default_rng(0)
    # Jitter of +-2.4 ms: up to half a period from one message to the next.
    arrivals = [k * PERIOD + int(rng.uniform(-2.4, 2.4) * MS) + 50 * MS for k in range(300)]
    world = World(sorted(arrivals))
    driver = run(world, arrivals[-1] + PERIOD)
    assert answer_delays(world) == [0] * len(arrivals)
    assert driver.late_ticks == 0


def test_a_late_tick_does_not_delay_the_next_answer() -> None:
    arrivals = [k * PERIOD + 5 * MS for k in range(50)]

    def hiccup(index: int) -> int:
        return 3 * MS if index % 10 == 5 else 0

    # Every tenth answer runs 3 ms late: the answer after it is still on arrival.
    world = World(arrivals, wake_delay=hiccup)
    run(world, arrivals[-1] + PERIOD)
    assert answer_delays(world) == [hiccup(i) for i in range(len(arrivals))]


def test_a_faster_hal_is_held_to_the_control_rate() -> None:
    arrivals = [k * PERIOD // 2 for k in range(1, 401)]  # 200 Hz for 2 s
    world = World(arrivals)
    run(world, arrivals[-1])
    duration = arrivals[-1] - arrivals[0]
    answered = [t for t, stamp in world.ticks if stamp is not None]
    emission = PERIOD - min(500_000, PERIOD // 10)
    assert len(answered) <= duration / emission + 2
    assert len(answered) >= duration / PERIOD - 2
    due_gaps = np.diff(answered)
    assert due_gaps.min() >= PERIOD // 2 - 500_000


def test_a_silent_hal_gets_deadline_ticks_half_a_period_late() -> None:
    arrivals = [5 * MS, 15 * MS]
    world = World(arrivals)
    driver = run(world, 200 * MS)
    silent = [t for t, stamp in world.ticks if stamp is None]
    assert len(silent) >= 10
    assert set(np.diff(silent)) == {PERIOD + PERIOD // 2}
    assert driver.deadline_ticks == len(silent)

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
When to tick: the deadline-driven schedule shared by the node and the client.

A tick answers the newest observation as soon as it arrives, within a rate
limit, so the tick rate stays at the control rate even when the HAL
publishes faster. The limit is a virtual schedule (the generic cell rate
algorithm of a leaky bucket): every tick moves a theoretical due time one
period (minus a small jitter allowance) past the later of itself and the
tick's own due time, and a tick may run up to half a period before that
theoretical time. A HAL at the control rate therefore never waits, however
its messages jitter (up to half a period) and however late a previous tick
ran; a faster HAL is held to the control rate (plus the jitter allowance)
on average. When no observation arrives, a deadline tick runs half a period
late so stale data is detected and the hold target keeps going out.
With ``sync_to_observations`` off, ticks follow a fixed grid and take the
newest observation at each grid point.

Every tick's period and lateness are measured (``late`` = more than
``late_threshold`` after its due time) and published in diagnostics.

Warm-up (sync mode, :meth:`TickDriver.set_warm_up`): after 10 ms of idling
the caches are cold and a tick costs several times its warm cost; a
callable (a spare inference and decode for a stateless policy) can run
once a short lead before the next observation is expected (one period after
the previous arrival, on the HAL's phase: see :meth:`TickDriver._expect_next`),
so the tick that answers it finds its working set warm. The lead must
outlast the warm-up, or the observation arrives during it and waits (for
the GIL, in the socket); the warm-up's own wall time depends on the machine
and its load (0.7-1.4 ms at p90-p99 on the shared 2-core development VM),
so the driver measures it and sets the lead to the 99th percentile of
the last :data:`WARM_UP_WINDOW` warm-ups plus :data:`WARM_UP_MARGIN_NS`,
never shorter than the configured lead nor longer than a quarter period.
A warm-up whose *median* duration needs more than a quarter period would
only delay answers (an overloaded machine): it pauses for
:data:`WARM_UP_PAUSE` expected observations (counted in
``warm_up_pauses``) and is then measured afresh.
"""

from __future__ import annotations

from collections.abc import Callable
import time
from typing import Protocol

from krabby_parkour_ros.control.config import ControlConfig
from krabby_parkour_ros.control.stats import RollingSamples
from krabby_parkour_ros.control.step import ControlStep, TickResult
from krabby_parkour_ros.hal.messages import HalObservation

#: Largest step, per observation, by which the predicted arrival follows
#: arrivals later than predicted (100 us per period: a HAL whose clock runs
#: 1 % slow is followed; a late receive moves the prediction by little).
_PHASE_FOLLOW_NS = 100_000
#: Warm-ups whose durations set the lead (one second of a 50 Hz policy).
WARM_UP_WINDOW = 50
#: The lead is recomputed after this many warm-ups.
_WARM_UP_REFIT = 10
#: Percentile of the warm-up's duration the lead covers.
WARM_UP_PERCENTILE = 99.0
#: Added to that duration: the arrival jitter the warm-up must also clear.
WARM_UP_MARGIN_NS = 200_000
#: Expected observations without warm-up after the median warm-up outgrew
#: the longest lead (5 s at 100 Hz); then it is measured afresh.
WARM_UP_PAUSE = 500


class ObservationSource(Protocol):
    """The observation side of a HalClient."""

    def poll(self) -> HalObservation | None:
        """Return the newest unseen observation or None."""

    def wait_for_observation(self, timeout_s: float) -> HalObservation | None:
        """Block up to timeout_s for a new observation."""


class TickDriver:
    """
    Run :class:`ControlStep` ticks on the schedule described in the module doc.

    :param source: the HAL client (observations).
    :param step: the control step.
    :param config: rates and the observation-sync switch.
    :param sleep: injectable sleep (tests).
    :param clock: injectable monotonic nanosecond clock (tests).
    """

    def __init__(
        self,
        source: ObservationSource,
        step: ControlStep,
        config: ControlConfig,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        self._source = source
        self._step = step
        self._sync = config.sync_to_observations
        self._period_ns = int(round(config.period * 1e9))
        self._jitter_ns = min(500_000, self._period_ns // 10)
        self._grace_ns = self._period_ns // 2
        # Rate limit (sync mode): emission interval and burst tolerance of the
        # virtual schedule; _tat_ns is the theoretical due time of the next tick.
        self._emission_ns = self._period_ns - self._jitter_ns
        self._tolerance_ns = self._period_ns // 2
        self._tat_ns: int | None = None
        self._late_ns = int(config.late_threshold * 1e9)
        self._sleep = sleep
        self._clock = clock
        self._last_tick_ns: int | None = None
        self._due_ns: int | None = None
        self._this_due_ns: int | None = None
        self.periods = RollingSamples()
        self.lateness = RollingSamples()
        self.late_ticks = 0
        self.deadline_ticks = 0
        self._warm_up: Callable[[], bool | None] | None = None
        self._warm_lead_ns = 0
        self._min_lead_ns = 0
        self._max_lead_ns = self._period_ns // 4
        self._expected_ns: int | None = None
        #: Wall time of the recent warm-ups (seconds), which sets the lead.
        self.warm_up_durations = RollingSamples(WARM_UP_WINDOW)
        self._warm_paused = 0
        #: Warm-ups run and the CPU seconds of this thread they took.
        self.warm_ups = 0
        self.warm_up_cpu_s = 0.0
        #: Times the median warm-up outgrew a quarter period and paused.
        self.warm_up_pauses = 0

    def set_warm_up(self, warm_up: Callable[[], bool | None] | None, lead_s: float) -> None:
        """
        Run ``warm_up`` once a lead before each expected observation (sync mode).

        :param warm_up: no-argument callable (None: no warm-up) returning
            False when it chose not to warm. Exceptions propagate: it must
            not raise.
        :param lead_s: the shortest lead: how long before the expected
            arrival it starts at least (0: no warm-up). The driver lengthens
            it to the warm-up's measured duration (module doc); at most a
            quarter period.
        """
        self._warm_up = warm_up if lead_s > 0 else None
        self._min_lead_ns = min(int(lead_s * 1e9), self._max_lead_ns)
        self._warm_lead_ns = self._min_lead_ns
        self.warm_up_durations.clear()

    @property
    def warm_up_lead_s(self) -> float:
        """Return the current warm-up lead in seconds (0 without a warm-up)."""
        return self._warm_lead_ns * 1e-9 if self._warm_up is not None else 0.0

    def reset(self) -> None:
        """Forget the schedule (on activation) and the timing statistics."""
        self._last_tick_ns = None
        self._tat_ns = None
        self._due_ns = None
        self.periods.clear()
        self.lateness.clear()
        self.late_ticks = 0
        self.deadline_ticks = 0
        self._expected_ns = None
        self.warm_ups = 0
        self.warm_up_cpu_s = 0.0
        self.warm_up_durations.clear()
        self._warm_lead_ns = self._min_lead_ns
        self._warm_paused = 0
        self.warm_up_pauses = 0

    def run_once(self, stop_after_s: float | None = None) -> TickResult:
        """
        Wait for the next tick's moment, then run it.

        :param stop_after_s: upper bound on the wait (so callers can check a
            stop flag); when it expires first, the tick runs anyway.
        """
        obs = self._sync_wait(stop_after_s) if self._sync else self._grid_wait(stop_after_s)
        now = self._clock()
        self._record_timing(now)
        return self._step.tick(obs, now)

    def _sleep_until(self, target_ns: int) -> None:
        remaining = (target_ns - self._clock()) * 1e-9
        if remaining > 0:
            self._sleep(remaining)

    def _sync_wait(self, stop_after_s: float | None) -> HalObservation | None:
        if self._last_tick_ns is None:
            wait = self._period_ns * 1e-9
            self._this_due_ns = None
            first = self._source.wait_for_observation(
                wait if stop_after_s is None else min(wait, stop_after_s)
            )
            if first is not None:
                self._expect_next(first.receive_time_ns)
            return first
        earliest = (
            self._last_tick_ns if self._tat_ns is None else self._tat_ns - self._tolerance_ns
        )
        deadline = self._last_tick_ns + self._period_ns + self._grace_ns
        if stop_after_s is not None:
            deadline = min(deadline, self._clock() + int(stop_after_s * 1e9))
        obs = self._source.poll()
        if obs is None and self._warm_up is not None:
            obs = self._wait_and_warm(deadline, self._warm_up)
        if obs is None:
            timeout = (deadline - self._clock()) * 1e-9
            obs = self._source.wait_for_observation(max(timeout, 0.0))
        if obs is not None:
            self._expect_next(obs.receive_time_ns)
        if obs is None:
            self.deadline_ticks += 1
            self._this_due_ns = deadline
            return None
        self._this_due_ns = max(earliest, obs.receive_time_ns)
        if self._clock() < earliest:
            # The HAL runs faster than the control rate: keep the rate, answer
            # the newest observation at the earliest allowed moment.
            self._sleep_until(earliest)
            newer = self._source.poll()
            if newer is not None:
                obs = newer
        return obs

    def _expect_next(self, receive_ns: int) -> None:
        """
        Predict the next arrival: one period after this one, on the HAL's phase.

        An observation received later than predicted (by less than half a
        period) was delayed by jitter or by this thread itself: it sits in
        the socket while a warm-up runs. Predicting from its late receive
        time would move the next warm-up later, onto the next arrival, and
        so on (each overlap causing the next). The prediction keeps the
        phase instead and follows a real shift by at most
        ``_PHASE_FOLLOW_NS`` per observation; an early arrival is followed
        at once.
        """
        predicted = self._expected_ns
        if predicted is not None and 0 < receive_ns - predicted < self._grace_ns:
            receive_ns = min(receive_ns, predicted + _PHASE_FOLLOW_NS)
        self._expected_ns = receive_ns + self._period_ns

    def _wait_and_warm(
        self, deadline: int, warm_up: Callable[[], bool | None]
    ) -> HalObservation | None:
        """Wait until the warm-up moment, then warm up (unless an observation came)."""
        expected = self._expected_ns
        if expected is None:
            return None
        if self._warm_paused:
            self._warm_paused -= 1
            return None
        warm_at = min(expected - self._warm_lead_ns, deadline)
        now = self._clock()
        if warm_at <= now:
            # Too close (or past): warming now would only delay the answer.
            return None
        obs = self._source.wait_for_observation((warm_at - now) * 1e-9)
        if obs is None:
            start = time.thread_time()
            start_ns = self._clock()
            if warm_up() is not False:
                self.warm_ups += 1
                self._fit_lead(self._clock() - start_ns)
            self.warm_up_cpu_s += time.thread_time() - start
        return obs

    def _fit_lead(self, duration_ns: int) -> None:
        """Record one warm-up's wall time; every few, refit the lead to the recent ones."""
        durations = self.warm_up_durations
        durations.add(duration_ns * 1e-9)
        if durations.total_count % _WARM_UP_REFIT:
            return
        typical = int(durations.percentile(50.0) * 1e9) + WARM_UP_MARGIN_NS
        if typical > self._max_lead_ns:
            # Most warm-ups no longer fit; one slow one (a VM stall) only caps the lead.
            self._warm_paused = WARM_UP_PAUSE
            self.warm_up_pauses += 1
            durations.clear()
            self._warm_lead_ns = self._min_lead_ns
            return
        fitted = int(durations.percentile(WARM_UP_PERCENTILE) * 1e9) + WARM_UP_MARGIN_NS
        self._warm_lead_ns = min(max(fitted, self._min_lead_ns), self._max_lead_ns)

    def _grid_wait(self, stop_after_s: float | None) -> HalObservation | None:
        now = self._clock()
        if self._due_ns is None:
            self._due_ns = now
        target = self._due_ns
        if stop_after_s is not None:
            target = min(target, now + int(stop_after_s * 1e9))
        self._this_due_ns = target
        self._sleep_until(target)
        return self._source.poll()

    def _record_timing(self, now: int) -> None:
        if self._last_tick_ns is not None:
            self.periods.add((now - self._last_tick_ns) * 1e-9)
        if self._this_due_ns is not None:
            # Lateness: how long after its moment (observation arrival, the
            # earliest allowed time, the deadline or the grid point) it ran.
            lateness = now - self._this_due_ns
            self.lateness.add(max(lateness, 0) * 1e-9)
            if lateness > self._late_ns:
                self.late_ticks += 1
        if self._sync:
            # Advance the virtual schedule from when this tick was due, not from
            # when it ran: a late tick does not delay the next answer.
            due = now if self._this_due_ns is None else self._this_due_ns
            self._tat_ns = (
                max(due if self._tat_ns is None else self._tat_ns, due) + self._emission_ns
            )
        self._last_tick_ns = now
        if not self._sync:
            # Fixed grid: the next tick is due one period after this one was
            # due; after a long stall, skip missed ticks instead of bursting.
            self._due_ns = (self._due_ns or now) + self._period_ns
            if self._due_ns < now:
                self._due_ns = now + self._period_ns

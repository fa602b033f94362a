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
The control thread: ticks at the control rate until stopped, then holds.

The ROS node and the ROS-free
:class:`~krabby_parkour_ros.control.inference_client.ParkourInferenceClient`
both run their ticks here, in a thread of its own: the tick is paced by
:class:`~krabby_parkour_ros.control.driver.TickDriver` (the control-rate
deadline schedule, answering each observation as it arrives), never by an
executor that also serves subscriptions and services.

On every way out (stop, latched fault, an exception in a tick or in the
``on_tick`` callback) the thread sends the last safe target once more, so
the HAL keeps holding a pose continuous with what it was tracking.

Two things keep whole-process stalls off the control path:

- The garbage collector. A process with torch, onnxruntime and rclpy
  loaded holds ~190 000 container objects; a full (generation 2)
  collection walks all of them: 90-150 ms on the 2-core VM, and the
  per-tick allocations trigger one every few minutes. :meth:`ControlLoop.start`
  collects once and then freezes (:func:`gc.freeze`) everything allocated
  during configuration, so later collections only walk what the loop
  itself allocates (microseconds). :class:`GcMonitor` times every
  collection (``gc.callbacks``) for diagnostics and benchmarks.
- Cold caches. With ``warm_up_lead_s`` and a stateless policy (the
  teacher), the driver runs a spare inference on the previous policy input
  and then decodes the previous HAL message again (when the loop is given
  the client's ``warm_decoder``) that long before the next observation is
  expected (see :mod:`~krabby_parkour_ros.control.driver`); both are pure
  and their results discarded. Recurrent students are never warmed (their
  state would advance).
"""

from __future__ import annotations

from collections.abc import Callable
import gc
import logging
import threading
import time
from typing import Any, Protocol

import numpy as np

from krabby_parkour_ros.control.driver import TickDriver
from krabby_parkour_ros.control.step import CommandSink, ControlStep, TickResult
from krabby_parkour_ros.policy.model import ModelIO
from krabby_parkour_ros.scheduling import DEFAULT, request_fifo

_LOG = logging.getLogger(__name__)

#: What ``start`` accepts as an external run flag.
RunningFlag = threading.Event | Callable[[], bool] | None


def _always() -> bool:
    return True


def running_predicate(running_flag: RunningFlag) -> Callable[[], bool]:
    """
    Return a no-argument predicate for an Event, a callable or None.

    :raises TypeError: anything else, naming what arrived.
    """
    if running_flag is None:
        return _always
    is_set = getattr(running_flag, 'is_set', None)
    if callable(is_set):
        return is_set
    if callable(running_flag):
        return lambda: bool(running_flag())
    raise TypeError(
        'running_flag: expected a threading.Event, a callable returning bool or '
        f'None, got {type(running_flag).__name__}'
    )


#: Longest wait inside one tick before the stop flag is checked again.
_STOP_CHECK_S = 0.1
#: Default shortest lead of the warm-up before the expected observation. The
#: driver lengthens it to the warm-up's measured duration plus a margin
#: (:mod:`~krabby_parkour_ros.control.driver`): on the development VM a cold
#: inference and decode take 0.7-1.4 ms at p90-p99, and a fixed 0.8 ms lead
#: left the observation waiting (policy-tick transport p99 ~600 us against
#: ~200 us at a 1.6 ms lead, docs/hardening.md).
WARM_UP_LEAD_S = 0.0004


class GcMonitor:
    """
    Time every garbage collection of the process (``gc.callbacks``).

    Install once (:meth:`install`); the callback costs about a microsecond
    per collection. :meth:`stats` returns counts, total and maximum
    milliseconds per generation.
    """

    def __init__(self) -> None:
        self._start = 0
        self.count = [0, 0, 0]
        self.total_ns = [0, 0, 0]
        self.max_ns = [0, 0, 0]
        #: The longest collection since :meth:`reset_window` (any generation).
        self.window_max_ns = 0
        self._installed = False

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == 'start':
            self._start = time.perf_counter_ns()
            return
        generation = info.get('generation', 2)
        elapsed = time.perf_counter_ns() - self._start
        self.count[generation] += 1
        self.total_ns[generation] += elapsed
        if elapsed > self.max_ns[generation]:
            self.max_ns[generation] = elapsed
        if elapsed > self.window_max_ns:
            self.window_max_ns = elapsed

    def reset_window(self) -> None:
        """Start a new window for :attr:`window_max_ns`."""
        self.window_max_ns = 0

    def install(self) -> GcMonitor:
        """Register the callback (idempotent)."""
        if not self._installed:
            gc.callbacks.append(self._callback)
            self._installed = True
        return self

    def uninstall(self) -> None:
        """Remove the callback."""
        if self._installed:
            gc.callbacks.remove(self._callback)
            self._installed = False

    def stats(self) -> dict[str, float]:
        """Return ``gc_gen<N>_count``, ``_total_ms`` and ``_max_ms`` per generation."""
        out: dict[str, float] = {}
        for generation in range(3):
            out[f'gc_gen{generation}_count'] = self.count[generation]
            out[f'gc_gen{generation}_total_ms'] = self.total_ns[generation] / 1e6
            out[f'gc_gen{generation}_max_ms'] = self.max_ns[generation] / 1e6
        out['gc_window_max_ms'] = self.window_max_ns / 1e6
        return out


#: The process's collection timer, installed by the first :class:`ControlLoop`.
GC_MONITOR = GcMonitor()


def freeze_heap() -> float:
    """
    Collect once, then move every live object out of the collector's reach.

    :return: the seconds the collection and freeze took (once, at start).
    """
    start = time.perf_counter()
    gc.collect()
    gc.freeze()
    return time.perf_counter() - start


class WarmUpModel(Protocol):
    """The part of a policy model a warm-up uses (a ``ParkourPolicyModel``)."""

    @property
    def obs_dim(self) -> int:
        """Return the policy observation length."""

    @property
    def is_recurrent(self) -> bool:
        """Return True when an inference changes the model's state."""

    @property
    def needs_depth(self) -> bool:
        """Return True when an inference needs a depth image."""

    def inference(self, model_io: ModelIO) -> Any:
        """Run the policy on ``model_io``."""


class PolicyWarmUp:
    """
    A spare inference and decode, to warm the caches before a policy tick.

    The teacher's inference has no state, so running it again changes
    nothing but the caches; :func:`make_warm_up` refuses recurrent models.
    It warms only before ticks expected to run the policy (it learns the
    policy decimation from the ticks it sees), so with the policy every
    second tick it costs one spare inference and one spare decode per policy
    step. (Warming the decoder before the other ticks too was measured: ~2 %
    of a core more for no gain in p99, docs/hardening.md.)

    :param model: the policy model (``inference(ModelIO)``).
    :param decoder: called after the inference, to decode the last HAL
        message again (``HalClient.warm_decoder``); None: only the
        inference is warmed.
    """

    def __init__(self, model: WarmUpModel, decoder: Callable[[], object] | None = None) -> None:
        self._model = model
        self._decoder = decoder
        self._io = ModelIO(
            observation=np.zeros(model.obs_dim, dtype=np.float32),
            base_velocity_measured=True,
            depth_image=None,
        )
        self._since_policy = 0
        self._gap = 1
        #: Spare inferences that raised (each also fails the next policy step).
        self.failures = 0

    def remember(self, result: TickResult) -> None:
        """Keep the input of the last policy step and the policy's tick pattern."""
        if not result.policy_ran:
            self._since_policy += 1
            return
        self._gap = self._since_policy + 1
        self._since_policy = 0
        vector = result.policy_observation
        if vector is not None and vector.shape == self._io.observation.shape:
            self._io.observation[...] = vector

    def __call__(self) -> bool:
        """Warm the inference and the decoder before a policy tick; return if it did."""
        if self._since_policy + 1 < self._gap:
            return False
        try:
            # The inference first: the decoder's smaller working set, warmed
            # last, then survives next to the model's ~1 MB of weights.
            self._model.inference(self._io)
            if self._decoder is not None:
                self._decoder()
        except Exception:  # noqa: B902 - a spare call must never end the control thread
            # The model's (and the decoder's) own failures surface, and are
            # handled, in the policy step and the client; here they only mean
            # no warm-up.
            self.failures += 1
            if self.failures == 1:
                _LOG.exception('warm-up raised; the policy step or the client will report it')
            return False
        return True


def make_warm_up(
    model: WarmUpModel | None, decoder: Callable[[], object] | None = None
) -> PolicyWarmUp | None:
    """
    Return a warm-up for a stateless policy, None for a recurrent or depth policy.

    :param decoder: the HAL client's ``warm_decoder`` (None: inference only).
    """
    if (
        model is None
        or getattr(model, 'is_recurrent', True)
        or getattr(model, 'needs_depth', True)
    ):
        return None
    return PolicyWarmUp(model, decoder)


class ControlLoop:
    """
    Run :class:`ControlStep` ticks in a dedicated thread.

    :param step: the control step (activated by :meth:`start`).
    :param driver: the tick schedule.
    :param sink: where the final hold target goes (the HAL client).
    :param on_tick: called in the control thread after every tick (keep it
        short: it delays the next tick).
    :param on_fault: called once in the control thread when a fault latches,
        just before the thread stops.
    :param name: thread name.
    :param realtime_priority: 0: default scheduler; 1..99: ``SCHED_FIFO`` at
        this priority for the control thread, if the system allows it
        (:mod:`~krabby_parkour_ros.scheduling`; the HAL client's receiver
        asks for the same).
    :param model: the policy model; with ``warm_up_lead_s`` > 0 and a
        stateless policy, a spare inference (and decode, with
        ``warm_decoder``) warms the caches that long before each expected
        observation.
    :param warm_up_lead_s: the shortest warm-up lead (0: off); the driver
        lengthens it to the warm-up's measured duration.
    :param warm_decoder: with the warm-up, decode the last HAL message again
        after the inference (``HalClient.warm_decoder``); None: inference only.
    :param freeze_gc: collect and :func:`gc.freeze` the heap on every start
        (see the module doc).
    """

    def __init__(
        self,
        step: ControlStep,
        driver: TickDriver,
        sink: CommandSink,
        on_tick: Callable[[TickResult], None] | None = None,
        on_fault: Callable[[], None] | None = None,
        name: str = 'parkour-control',
        realtime_priority: int = 0,
        model: WarmUpModel | None = None,
        warm_up_lead_s: float = WARM_UP_LEAD_S,
        warm_decoder: Callable[[], object] | None = None,
        freeze_gc: bool = True,
    ) -> None:
        self._step = step
        self._driver = driver
        self._sink = sink
        self._on_tick = on_tick
        self._on_fault = on_fault
        self._name = name
        self._stop = threading.Event()
        self._keep_running: Callable[[], bool] = _always
        self._thread: threading.Thread | None = None
        self._realtime_priority = int(realtime_priority)
        self.error: BaseException | None = None
        #: The scheduler the control thread got: 'default' or 'fifo:<priority>'.
        self.scheduler = DEFAULT
        self._freeze_gc = freeze_gc
        #: Seconds the last start spent collecting and freezing the heap.
        self.gc_freeze_s = 0.0
        self.gc = GC_MONITOR.install()
        self._warm_up = make_warm_up(model, warm_decoder) if warm_up_lead_s > 0 else None
        if self._warm_up is not None:
            driver.set_warm_up(self._warm_up, warm_up_lead_s)

    @property
    def running(self) -> bool:
        """Return True while the control thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def start(self, running_flag: RunningFlag = None) -> None:
        """
        Reset the schedule, activate the step (soft start) and start ticking.

        :param running_flag: optional external flag: a :class:`threading.Event`
            (the thread stops when it is cleared) or a callable returning
            False to stop (the Krabby compute README passes
            ``lambda: True``); checked before every tick.
        :raises TypeError: ``running_flag`` is neither.
        """
        if self.running:
            raise RuntimeError('the control thread is already running')
        self._keep_running = running_predicate(running_flag)
        self._stop.clear()
        self.error = None
        self._driver.reset()
        self._step.activate()
        if self._freeze_gc:
            self.gc_freeze_s = freeze_heap()
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 2.0) -> None:
        """
        Stop ticking and wait for the thread (which sends the hold target).

        :raises RuntimeError: the thread did not end within ``timeout_s``.
        """
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s)
            if thread.is_alive():
                raise RuntimeError(f'control thread did not stop within {timeout_s} s')
        self._thread = None

    def _run(self) -> None:
        self.scheduler = request_fifo(self._realtime_priority, 'control thread')
        try:
            while not self._stop.is_set() and self._keep_running():
                result = self._driver.run_once(stop_after_s=_STOP_CHECK_S)
                if self._warm_up is not None:
                    self._warm_up.remember(result)
                if self._on_tick is not None:
                    self._on_tick(result)
                if self._step.fault_latched:
                    _LOG.error(
                        'fault latched (%s): the control thread stops, holding the '
                        'last safe target',
                        self._step.last_error,
                    )
                    if self._on_fault is not None:
                        self._on_fault()
                    break
        except Exception as exc:  # noqa: B902 - the thread must not die silently
            self.error = exc
            _LOG.exception('control thread failed: holding the last safe target')
        finally:
            self.send_hold()

    def send_hold(self) -> None:
        """Deactivate the step and send its last safe target once more."""
        hold = self._step.deactivate()
        obs = self._step.last_observation
        if hold is None or obs is None or self._step.shadow:
            return
        try:
            self._sink.put_joint_command(hold, obs.timestamp_ns)
        except ValueError as exc:
            _LOG.error('could not send the hold target: %s', exc)

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
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Callable, Optional, Union

from krabby_parkour_ros.control.driver import TickDriver
from krabby_parkour_ros.control.step import ControlStep, TickResult

_LOG = logging.getLogger(__name__)

#: What ``start`` accepts as an external run flag.
RunningFlag = Optional[Union[threading.Event, Callable[[], bool]]]


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
    raise TypeError('running_flag: expected a threading.Event, a callable returning bool or '
                    f'None, got {type(running_flag).__name__}')


#: Longest wait inside one tick before the stop flag is checked again.
_STOP_CHECK_S = 0.1


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
        this priority for the control thread, if the system allows it.
    """

    def __init__(self, step: ControlStep, driver: TickDriver, sink,
                 on_tick: Optional[Callable[[TickResult], None]] = None,
                 on_fault: Optional[Callable[[], None]] = None,
                 name: str = 'parkour-control', realtime_priority: int = 0) -> None:
        self._step = step
        self._driver = driver
        self._sink = sink
        self._on_tick = on_tick
        self._on_fault = on_fault
        self._name = name
        self._stop = threading.Event()
        self._keep_running: Callable[[], bool] = _always
        self._thread: Optional[threading.Thread] = None
        self._realtime_priority = int(realtime_priority)
        self.last_result: Optional[TickResult] = None
        self.error: Optional[BaseException] = None
        #: The scheduler the control thread got: 'default' or 'fifo:<priority>'.
        self.scheduler = 'default'

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

    def _set_scheduler(self) -> None:
        if self._realtime_priority <= 0:
            self.scheduler = 'default'
            return
        try:
            os.sched_setscheduler(threading.get_native_id(), os.SCHED_FIFO,
                                  os.sched_param(self._realtime_priority))
        except (OSError, AttributeError) as exc:
            self.scheduler = 'default'
            _LOG.warning('control thread: SCHED_FIFO priority %d refused (%s); running with '
                         'the default scheduler (grant CAP_SYS_NICE or an rtprio limit)',
                         self._realtime_priority, exc)
            return
        self.scheduler = f'fifo:{self._realtime_priority}'

    def _run(self) -> None:
        self._set_scheduler()
        try:
            while not self._stop.is_set() and self._keep_running():
                result = self._driver.run_once(stop_after_s=_STOP_CHECK_S)
                self.last_result = result
                if self._on_tick is not None:
                    self._on_tick(result)
                if self._step.fault_latched:
                    _LOG.error('fault latched (%s): the control thread stops, holding the '
                               'last safe target', self._step.last_error)
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

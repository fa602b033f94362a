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
The ROS-free controller: poll -> build -> infer -> map -> send in its own thread.

Usage::

    client = ParkourInferenceClient(HalClientConfig(...), ModelWeights(path),
                                    control_rate=100.0, device='cpu')
    client.initialize()
    running = threading.Event(); running.set()
    client.start_thread(running)
    client.set_navigation_command(0.5, 0.0, 0.0)
    ...
    client.stop_thread(); client.close()

It runs exactly the control step of the ROS node
(:class:`~krabby_parkour_ros.control.step.ControlStep`, same safety
behaviour), without publishing ROS topics.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
import logging

import zmq

from krabby_parkour_ros.control.loop import ControlLoop, RunningFlag, WARM_UP_LEAD_S
from krabby_parkour_ros.control.runtime import ControlRuntime, load_policy, RuntimeConfig
from krabby_parkour_ros.control.step import ControlMode, TickResult
from krabby_parkour_ros.hal.config import HalClientConfig
from krabby_parkour_ros.hal.messages import HalObservation
from krabby_parkour_ros.mapping.navigation import NavigationCommand
from krabby_parkour_ros.policy.checkpoint import ModelWeights
from krabby_parkour_ros.recording.recorder import HalRecorder
from krabby_parkour_ros.recording.session import detach_recorder, open_recorder

_LOG = logging.getLogger(__name__)


class ParkourInferenceClient:
    """
    Control a robot through the HAL with a parkour policy, without ROS.

    :param hal_client_config: HAL endpoints and limits.
    :param model_weights: a loaded :class:`ModelWeights` or a checkpoint path
        (empty string: the shipped trained teacher).
    :param control_rate: command ticks per second.
    :param device: ``'cuda'`` or ``'cpu'``; CUDA falls back to the CPU with a
        warning when absent.
    :param transport_context: the HAL server's ZeroMQ context for
        ``inproc://`` endpoints.
    :param runtime_config: every other setting (joint map, sources, safety);
        its ``hal``, ``device`` and ``control.control_rate`` are replaced by
        the arguments above. ``policy_decimation`` defaults to the policy's
        trained period times ``control_rate``.
    :param on_tick: optional callback called after every tick with its result
        (from the control thread: keep it short).
    :param record_path: record every HAL observation and command (byte-exact)
        into MCAP (a .mcap file or a folder); empty: off.
    :param allow_torchscript: allow a TorchScript checkpoint path (its code
        runs at load and at every inference: trusted files only). Also
        allowed when ``runtime_config.allow_torchscript`` is True; without
        either, a TorchScript file is refused at :meth:`initialize`.
    :param warm_up_lead_s: a spare inference and decode for a stateless
        policy at least this long before each expected observation warms
        the caches; the lead grows to the warm-up's measured duration (0:
        off; see :mod:`~krabby_parkour_ros.control.driver`).
    """

    def __init__(
        self,
        hal_client_config: HalClientConfig,
        model_weights: ModelWeights | str,
        control_rate: float = 100.0,
        device: str = 'cuda',
        transport_context: zmq.Context | None = None,
        runtime_config: RuntimeConfig | None = None,
        policy_decimation: int | None = None,
        on_tick: Callable[[TickResult], None] | None = None,
        record_path: str = '',
        allow_torchscript: bool = False,
        warm_up_lead_s: float = WARM_UP_LEAD_S,
    ) -> None:
        base = runtime_config if runtime_config is not None else RuntimeConfig()
        self._weights = model_weights if isinstance(model_weights, ModelWeights) else None
        checkpoint = model_weights if isinstance(model_weights, str) else base.checkpoint
        self._config = replace(
            base,
            hal=hal_client_config,
            device=device,
            checkpoint=checkpoint,
            allow_torchscript=bool(allow_torchscript or base.allow_torchscript),
            control=replace(base.control, control_rate=float(control_rate)),
        )
        self._policy_decimation = policy_decimation
        self._context = transport_context
        self._on_tick = on_tick
        self._record_path = record_path
        self._warm_up_lead_s = float(warm_up_lead_s)
        self.recorder: HalRecorder | None = None
        self._runtime: ControlRuntime | None = None
        self._loop: ControlLoop | None = None
        self.last_result: TickResult | None = None

    @property
    def runtime(self) -> ControlRuntime:
        """Return the assembled controller, available once initialized."""
        if self._runtime is None:
            raise RuntimeError('ParkourInferenceClient.initialize() has not been called')
        return self._runtime

    def initialize(self) -> None:
        """Load and check the policy, build the mappers, connect the HAL."""
        if self._runtime is not None:
            return
        config = self._config
        decimation = self._policy_decimation
        if decimation is None:
            decimation = self._trained_decimation(config)
        config = replace(config, control=replace(config.control, policy_decimation=decimation))
        if self._record_path:
            self.recorder = open_recorder(
                self._record_path,
                1 << 30,
                metadata={'client': 'library', 'joint_map': config.joint_map},
            )
        self._runtime = ControlRuntime.build(
            config, context=self._context, weights=self._weights, recorder=self.recorder
        )
        _LOG.info(
            'parkour client ready: policy %s every %d ticks at %.1f Hz',
            self._runtime.contract.name,
            decimation,
            config.control.control_rate,
        )

    def _trained_decimation(self, config: RuntimeConfig) -> int:
        if self._weights is None:
            self._weights = load_policy(config)
        if self._weights.card is None:
            return config.control.policy_decimation
        period = self._weights.card.contract.policy_period
        return max(1, int(round(period * config.control.control_rate)))

    def poll(self, timeout_ms: float | None = None) -> HalObservation | None:
        """
        Return the newest observation from the HAL, waiting up to ``timeout_ms``.

        The seed client's call (it was a HAL client): before the control
        thread starts, one poll establishes an inproc PUB/SUB connection.
        Do not poll while the control thread runs (it takes the
        observations the controller should answer).
        """
        return self.runtime.hal.poll(timeout_ms)

    def start_thread(self, running_flag: RunningFlag = None) -> None:
        """
        Start the control thread; it runs while ``running_flag`` allows.

        :param running_flag: a :class:`threading.Event` (runs while set), a
            callable returning False to stop (the seed's
            ``running_flag=lambda: running``), or None (until
            :meth:`stop_thread`). Activation starts with the soft start.
        """
        runtime = self.runtime
        if self._loop is None:
            self._loop = ControlLoop(
                runtime.step,
                runtime.driver,
                runtime.hal,
                on_tick=self._tick_done,
                realtime_priority=runtime.config.control.realtime_priority,
                model=runtime.model,
                warm_up_lead_s=self._warm_up_lead_s,
                warm_decoder=runtime.hal.warm_decoder,
            )
        self._loop.start(running_flag)

    def _tick_done(self, result: TickResult) -> None:
        self.last_result = result
        if self.recorder is not None:
            # The writer runs between ticks, not during them (HalRecorder.kick).
            self.recorder.kick()
        if self._on_tick is not None:
            self._on_tick(result)

    @property
    def control_thread_scheduler(self) -> str:
        """Return the control thread's scheduler ('default' or 'fifo:<priority>')."""
        return 'default' if self._loop is None else self._loop.scheduler

    @property
    def running(self) -> bool:
        """Return True while the control thread runs."""
        return self._loop is not None and self._loop.running

    @property
    def error(self) -> BaseException | None:
        """Return the exception that stopped the control thread, if any."""
        return None if self._loop is None else self._loop.error

    def stop_thread(self, timeout_s: float = 2.0) -> None:
        """Stop the control thread; the last safe target stays in force."""
        if self._loop is not None:
            self._loop.stop(timeout_s)

    def set_navigation_command(
        self, vx: float = 0.0, vy: float = 0.0, yaw_rate: float = 0.0
    ) -> NavigationCommand:
        """Set the navigation command (clamped to limits); return what is used."""
        return self.runtime.step.set_navigation_command(NavigationCommand(vx, vy, yaw_rate))

    def hold(self) -> None:
        """Hold the last safe target until :meth:`release`."""
        self.runtime.step.hold()

    def release(self) -> None:
        """Release a hold (ramp back, then the policy resumes)."""
        self.runtime.step.release()

    @property
    def mode(self) -> ControlMode:
        """Return the control mode."""
        return self.runtime.step.mode

    def stats(self) -> dict[str, object]:
        """Return counters, latency and tick statistics."""
        runtime = self.runtime
        step = runtime.step
        driver = runtime.driver
        return {
            'mode': step.mode.value,
            'counters': dict(step.counters),
            'failures_by_reason': dict(step.failures_by_reason),
            'latency_s': step.latency.summary(),
            'inference_s': step.inference_time.summary(),
            'tick_period_s': driver.periods.summary(),
            'tick_lateness_s': driver.lateness.summary(),
            'late_ticks': driver.late_ticks,
            'deadline_ticks': driver.deadline_ticks,
            'warm_up': {
                'count': driver.warm_ups,
                'lead_s': driver.warm_up_lead_s,
                'pauses': driver.warm_up_pauses,
                'cpu_s': driver.warm_up_cpu_s,
            },
            'hal': runtime.hal.stats(),
        }

    def close(self) -> None:
        """Stop the thread if needed and release the HAL link and the policy."""
        self.stop_thread()
        if self.recorder is not None:
            detach_recorder(self._runtime.hal if self._runtime else None, self.recorder)
            self.recorder = None
        if self._runtime is not None:
            self._runtime.close()
            self._runtime = None
        self._loop = None

    def __enter__(self) -> ParkourInferenceClient:
        """Initialize on entering a with-block."""
        self.initialize()
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close on leaving a with-block."""
        self.close()

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
The simulated robot behind the Krabby HAL wire protocol.

:class:`SimHal` owns a :class:`~krabby_parkour_ros.sim.robot.SimulatedRobot`
and a :class:`~krabby_parkour_ros.hal.server.HalServer`. Every observation
period (default 100 Hz = 2 physics steps of 0.005 s) it publishes one
schema 1.0 observation (joint positions, depth-shaded grey images, depth,
confidence and every extension key), takes commands as PD targets (newest
wins; without commands the last target is held; the first target is the
reset pose) and advances the physics.

The loop is the shared :class:`~krabby_parkour_ros.hal.paced_server.PacedServer`:

- ``realtime`` (its ``grid``): observation ``k`` is published at wall time
  ``t0 + k * period``; commands are received until the next grid point and
  the newest one drives the physics of that period. Timestamps are the
  host's wall clock (``time.time_ns()``, forced strictly increasing).
- ``lockstep``: as fast as the client answers, deterministic: after
  publishing observation ``k`` the loop waits (up to ``lockstep_timeout_s``)
  for a command whose ``observation_timestamp_ns`` equals that
  observation's timestamp, then steps. On a timeout it steps on with the
  last target and counts it. Timestamps are the start wall time plus the
  simulated time.

A caller can also drive lockstep itself, one period at a time, from its own
thread (:meth:`SimHal.publish_observation`, :meth:`SimHal.await_command`,
:meth:`SimHal.advance`): the policy-acceptance gate does so to run a
controller and the simulator deterministically in one thread.

Optional :class:`SimHooks` perturb what the robot reports and receives
(noise, latency, dropped observations, pushes; ``krabby_parkour_ros.gate``
uses them). Without hooks nothing changes.

Length: about 580 lines, beyond the usual ~450. It keeps the simulator's
validated settings, hooks, statistics and lifecycle together, one class each.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
import itertools
import logging
import math
import threading
import time
from typing import Any, cast

import numpy as np
import zmq

from krabby_parkour_ros.hal.codec import encode_observation
from krabby_parkour_ros.hal.config import (
    DEFAULT_COMMAND_ENDPOINT,
    DEFAULT_MAX_COMMAND_AGE_S,
    DEFAULT_OBSERVATION_ENDPOINT,
    HalServerConfig,
)
from krabby_parkour_ros.hal.messages import HalCommand
from krabby_parkour_ros.hal.paced_server import Beat, PacedServer, PacedStats, Pacing
from krabby_parkour_ros.hal.server import HalServer
from krabby_parkour_ros.sim.go2_model import TIMESTEP
from krabby_parkour_ros.sim.robot import HardwareLayout, SimObservation, SimulatedRobot
from krabby_parkour_ros.sim.scenarios import make_scenario
from krabby_parkour_ros.sim.sensors import CameraConfig

logger = logging.getLogger(__name__)

PACING_MODES = ('realtime', 'lockstep')


class SimConfigError(ValueError):
    """A simulator setting is out of range."""


class SimHooks:
    """
    Perturbation hooks of :class:`SimHal`; this base class changes nothing.

    Subclasses override any of the three methods. They run in the
    simulator's loop thread, under its lock.
    """

    def observation(
        self, robot: SimulatedRobot, observation: SimObservation
    ) -> SimObservation | None:
        """Return the observation to publish (possibly altered), or None to drop it."""
        return observation

    def command(self, robot: SimulatedRobot, joint_positions: np.ndarray) -> np.ndarray | None:
        """
        Return the 18 hardware targets to apply now, or None to apply nothing now.

        A hook that delays commands keeps them and applies them itself in
        :meth:`before_advance` (``robot.set_hardware_targets``).
        """
        return joint_positions

    def before_advance(self, robot: SimulatedRobot) -> None:
        """Act on the robot before the physics of one observation period (pushes, delays)."""


@dataclass(frozen=True)
class SimHalConfig:
    """
    Settings of :class:`SimHal`.

    :param scenario: scenario name (see :mod:`krabby_parkour_ros.sim.scenarios`).
    :param scenario_parameters: keyword parameters of the scenario builder.
    :param seed: seed of the reset pose.
    :param observation_endpoint: where the observation PUB binds.
    :param command_endpoint: where the command PULL binds.
    :param rate_hz: observations per second; a whole number of physics steps
        (0.005 s) per observation: 200, 100, 50, 40 ... Hz.
    :param pacing: 'realtime' or 'lockstep'.
    :param lockstep_timeout_s: longest wait for the answer to an observation.
    :param depth_height: depth image rows.
    :param depth_width: depth image columns.
    :param joint_map_path: joint-map YAML of the hardware view (None: go2_sim.yaml).
    :param trajectory_period_s: simulated seconds between trajectory samples.
    :param curve_secret_key: CurveZMQ secret key of the simulated HAL (Z85 or
        a ``.key_secret`` file); empty: plain ZeroMQ (docs/hardening.md).
    :param curve_authorized_keys: client public keys admitted with CurveZMQ.
    :param max_command_age_s: commands whose ``timestamp_ns`` is older than
        this by the simulator's wall clock are dropped (``stale``), as a HAL
        should (docs/hal.md); 0: off (clients on a host with an unsynchronised
        clock).
    """

    scenario: str = 'flat'
    scenario_parameters: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    observation_endpoint: str = DEFAULT_OBSERVATION_ENDPOINT
    command_endpoint: str = DEFAULT_COMMAND_ENDPOINT
    rate_hz: float = 100.0
    pacing: str = 'realtime'
    lockstep_timeout_s: float = 0.2
    depth_height: int = 58
    depth_width: int = 87
    joint_map_path: str | None = None
    trajectory_period_s: float = 0.1
    curve_secret_key: str = ''
    curve_authorized_keys: tuple[str, ...] = ()
    max_command_age_s: float = DEFAULT_MAX_COMMAND_AGE_S

    def __post_init__(self) -> None:
        """Check pacing, rate, timeout and image size."""
        if self.pacing not in PACING_MODES:
            raise SimConfigError(f'pacing: expected one of {PACING_MODES}, got {self.pacing!r}')
        if not (
            isinstance(self.rate_hz, (int, float))
            and math.isfinite(self.rate_hz)
            and self.rate_hz > 0.0
        ):
            raise SimConfigError(f'rate_hz: expected a positive number, got {self.rate_hz!r}')
        steps = 1.0 / (self.rate_hz * TIMESTEP)
        if steps < 0.999 or abs(steps - round(steps)) > 1e-6:
            raise SimConfigError(
                f'rate_hz: expected 1 / (n * {TIMESTEP}) Hz for a whole '
                f'n >= 1 (200, 100, 50 ...), got {self.rate_hz!r}'
            )
        if not self.lockstep_timeout_s > 0.0:
            raise SimConfigError(
                f'lockstep_timeout_s: expected a positive number, got {self.lockstep_timeout_s!r}'
            )
        if self.depth_height < 1 or self.depth_width < 1:
            raise SimConfigError(
                f'depth size: expected positive height and width, '
                f'got {self.depth_height}x{self.depth_width}'
            )
        if not self.trajectory_period_s > 0.0:
            raise SimConfigError(
                f'trajectory_period_s: expected a positive number, '
                f'got {self.trajectory_period_s!r}'
            )
        if not (
            isinstance(self.max_command_age_s, (int, float))
            and math.isfinite(self.max_command_age_s)
            and self.max_command_age_s >= 0.0
        ):
            raise SimConfigError(
                f'max_command_age_s: expected a number >= 0 (0: off), '
                f'got {self.max_command_age_s!r}'
            )

    @property
    def physics_steps_per_observation(self) -> int:
        """Return the physics steps between two observations."""
        return int(round(1.0 / (self.rate_hz * TIMESTEP)))


@dataclass
class SimRunStats(PacedStats):
    """Counters and results of the simulator since the last reset of statistics."""

    sim_time_s: float = 0.0
    wall_time_s: float = 0.0
    physics_steps: int = 0
    commands_applied: int = 0
    start_x: float = 0.0
    distance_x: float = 0.0
    min_base_height: float = math.inf
    fell: bool = False
    fall_time_s: float | None = None
    trajectory: list[list[float]] = field(default_factory=list)

    def summary(self, max_trajectory_points: int | None = None) -> dict[str, Any]:
        """Return a JSON-ready dict (latency as count/p50/p99/max in ms)."""
        out = super().summary()
        wall = self.wall_time_s
        out['sim_steps_per_s'] = self.physics_steps / wall if wall > 0.0 else None
        out['real_time_factor'] = self.sim_time_s / wall if wall > 0.0 else None
        out['min_base_height'] = None if math.isinf(self.min_base_height) else self.min_base_height
        if max_trajectory_points is not None and len(self.trajectory) > max_trajectory_points:
            stride = math.ceil(len(self.trajectory) / max_trajectory_points)
            out['trajectory'] = self.trajectory[::stride]
        return out


class SimHal:
    """
    A simulated Go2 serving the Krabby HAL protocol.

    :param config: settings (None: defaults).
    :param context: ZeroMQ context for the server (share it with inproc
        clients); None: the server makes its own (:attr:`transport_context`).
    :param hooks: perturbation hooks (None: none).
    """

    def __init__(
        self,
        config: SimHalConfig | None = None,
        context: zmq.Context | None = None,
        hooks: SimHooks | None = None,
    ) -> None:
        """Build the robot and the (unbound) server."""
        config = config if config is not None else SimHalConfig()
        self.config = config
        self.hooks = hooks
        #: Observations the hooks dropped (not published).
        self.hook_dropped = 0
        layout = (
            HardwareLayout.from_yaml(config.joint_map_path)
            if config.joint_map_path is not None
            else HardwareLayout.default()
        )
        scenario = make_scenario(config.scenario, **config.scenario_parameters)
        self.robot = SimulatedRobot(
            scenario,
            seed=config.seed,
            layout=layout,
            camera=CameraConfig(height=config.depth_height, width=config.depth_width),
        )
        self.server = HalServer(
            HalServerConfig(
                observation_endpoint=config.observation_endpoint,
                command_endpoint=config.command_endpoint,
                observation_sndhwm=1,
                command_rcvhwm=5,
                max_command_age_s=config.max_command_age_s or None,
                curve_secret_key=config.curve_secret_key,
                curve_authorized_keys=tuple(config.curve_authorized_keys),
            ),
            context=context,
        )
        self._steps_per_obs = config.physics_steps_per_observation
        self._lock = threading.Lock()
        self._stop = threading.Event()
        # Set when the background loop has ended. Waiting on it (not only on
        # Thread.join) stays correct when a KeyboardInterrupt hits the waiter.
        self._done = threading.Event()
        self._done.set()
        self._thread: threading.Thread | None = None
        self._last_timestamp_ns = 0
        self._start_wall_ns = time.time_ns()
        self._next_trajectory_time = 0.0
        #: The exception that ended the loop, if one did.
        self.error: BaseException | None = None
        self.stats = SimRunStats()
        self._paced = PacedServer(
            self.server,
            Pacing(
                mode='grid' if config.pacing == 'realtime' else 'lockstep',
                period_s=self._steps_per_obs * self.robot.timestep,
                answer_timeout_s=config.lockstep_timeout_s,
            ),
            self.stats,
            on_command=self._apply,
            stop=self._stop,
            lock=self._lock,
        )
        self.reset_statistics()

    # ------------------------------------------------------------ transport
    def bind(self) -> None:
        """Bind the HAL sockets (idempotent)."""
        self.server.bind()

    @property
    def transport_context(self) -> zmq.Context:
        """Return the server's ZeroMQ context (inproc clients must share it)."""
        return self.server.transport_context

    def get_transport_context(self) -> zmq.Context:
        """Return :attr:`transport_context` (the deployed Krabby HAL server's name)."""
        return self.server.transport_context

    @property
    def observation_endpoint(self) -> str:
        """Return the bound observation endpoint (real port)."""
        return self.server.bound_observation_endpoint

    @property
    def command_endpoint(self) -> str:
        """Return the bound command endpoint (real port)."""
        return self.server.bound_command_endpoint

    def close(self) -> None:
        """Stop the loop and close the sockets."""
        self.stop()
        self.server.close()

    def __enter__(self) -> SimHal:
        """Bind and return self."""
        self.bind()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        """Close on leaving the block."""
        self.close()

    def reset(self, seed: int | None = None) -> None:
        """
        Reset the robot (seeded pose, targets = reset pose) and the statistics.

        :param seed: new seed (None: continue the robot's generator).
        :raises RuntimeError: when the background loop runs.
        """
        if self.running:
            raise RuntimeError('reset: expected a stopped simulator, got a running loop')
        with self._lock:
            self.robot.reset(seed=seed)
        self.reset_statistics()

    # ----------------------------------------------------------- statistics
    def reset_statistics(self) -> None:
        """Start the statistics (distance, heights, counters) afresh from now."""
        with self._lock:
            self.stats = SimRunStats(
                start_x=float(self.robot.base_position()[0]),
                min_base_height=self.robot.base_clearance(),
            )
            self._paced.stats = self.stats
            self._next_trajectory_time = self.robot.sim_time
            self._record_trajectory()

    def _record_trajectory(self) -> None:
        if self.robot.sim_time + 1e-9 >= self._next_trajectory_time:
            pos = self.robot.base_position()
            self.stats.trajectory.append(
                [round(self.robot.sim_time, 4)] + [round(float(v), 4) for v in pos]
            )
            self._next_trajectory_time += self.config.trajectory_period_s

    def statistics(self, max_trajectory_points: int | None = None) -> dict[str, Any]:
        """Return the run statistics as a JSON-ready dict."""
        with self._lock:
            return self.stats.summary(max_trajectory_points)

    def status(self) -> dict[str, Any]:
        """Return a small dict for a live display."""
        with self._lock:
            pos = self.robot.base_position()
            vel = self.robot.base_linear_velocity_body()
            stats = self.stats
            return {
                'running': self.running,
                'pacing': self.config.pacing,
                'scenario': self.robot.scenario.name,
                'sim_time_s': round(self.robot.sim_time, 3),
                'x': round(float(pos[0]), 3),
                'y': round(float(pos[1]), 3),
                'z': round(float(pos[2]), 3),
                'forward_speed': round(float(vel[0]), 3),
                'fallen': self.robot.has_fallen(),
                'observations_published': stats.observations_published,
                'commands_received': stats.commands_received,
                'commands_applied': stats.commands_applied,
                'lockstep_timeouts': stats.lockstep_timeouts,
                'last_latency_ms': self._paced.last_latency_ms,
                'real_time_factor': (
                    stats.sim_time_s / stats.wall_time_s if stats.wall_time_s > 0.0 else None
                ),
            }

    # ---------------------------------------------------------------- loop
    @property
    def running(self) -> bool:
        """Return True while the background loop runs."""
        return self._thread is not None and not self._done.is_set()

    def start(self, sim_seconds: float | None = None) -> None:
        """
        Run the loop in a background thread (until :meth:`stop` or ``sim_seconds``).

        :raises RuntimeError: when the loop already runs.
        """
        if self.running:
            raise RuntimeError('start: expected a stopped simulator, got a running loop')
        self.bind()
        self._stop.clear()
        self.error = None
        self._done.clear()
        self._thread = threading.Thread(
            target=self._background, args=(sim_seconds,), name='krabby-sim-hal', daemon=True
        )
        self._thread.start()

    def _background(self, sim_seconds: float | None) -> None:
        try:
            self._loop(sim_seconds)
        except Exception:
            # Already logged by _loop and kept in self.error for the owner.
            return
        finally:
            self._done.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the background loop to end; return True when it has."""
        return self._done.wait(timeout)

    def stop(self) -> None:
        """Ask the loop to stop and wait for it."""
        self._stop.set()
        while not self._done.wait(0.1):
            pass
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def run_for(self, sim_seconds: float) -> dict[str, Any]:
        """
        Run the loop in the calling thread for ``sim_seconds`` of simulated time.

        :return: the statistics (see :meth:`statistics`).
        :raises RuntimeError: when the background loop runs.
        """
        if self.running:
            raise RuntimeError('run_for: expected a stopped simulator, got a running loop')
        self.bind()
        self._stop.clear()
        self._loop(sim_seconds)
        return self.statistics()

    def _loop(self, sim_seconds: float | None) -> None:
        try:
            self._paced.run(self._beats(sim_seconds))
        except Exception as exc:
            self.error = exc
            logger.exception('simulator loop failed; stopping')
            raise

    def _beats(self, sim_seconds: float | None) -> Iterator[Beat]:
        """
        Yield the observation of every period until ``sim_seconds`` of simulated time.

        The physics of a period runs when the loop asks for the next
        observation: after that period's wait, so the commands that arrived
        in it drive it.
        """
        end_time = None if sim_seconds is None else self.robot.sim_time + sim_seconds
        wall_start = time.perf_counter()
        wall_base = self.stats.wall_time_s
        for period in itertools.count():
            if period:
                self._advance()
                self.stats.wall_time_s = wall_base + time.perf_counter() - wall_start
            if end_time is not None and self.robot.sim_time >= end_time - 1e-9:
                return
            yield self._observe()

    def _next_timestamp(self) -> int:
        if self.config.pacing == 'lockstep':
            stamp = self._start_wall_ns + int(round(self.robot.sim_time * 1e9))
        else:
            stamp = time.time_ns()
        stamp = max(stamp, self._last_timestamp_ns + 1)
        self._last_timestamp_ns = stamp
        return stamp

    def _observe(self, use_hooks: bool = True) -> Beat:
        """Encode the current state (frames None when a hook dropped it)."""
        with self._lock:
            observation = self.robot.observe()
            timestamp = self._next_timestamp()
            if use_hooks and self.hooks is not None:
                altered = self.hooks.observation(self.robot, observation)
                if altered is None:
                    self.hook_dropped += 1
                    return Beat(timestamp, None)
                observation = altered
        frames = encode_observation(
            timestamp,
            observation.joint_positions,
            observation.rgb,
            observation.rgb,
            observation.depth,
            observation.confidence,
            observation.extensions,
        )
        return Beat(timestamp, frames)

    def _apply(self, command: HalCommand, received_ns: int) -> None:
        """Apply a received command (counted by the paced loop) as the PD targets."""
        with self._lock:
            targets: np.ndarray | None = command.joint_positions
            if self.hooks is not None:
                targets = self.hooks.command(self.robot, command.joint_positions)
            if targets is not None:
                # An (18,) array; the robot reads any float sequence.
                self.robot.set_hardware_targets(cast(Sequence[float], targets))
            self.stats.commands_applied += 1

    def _advance(self) -> None:
        with self._lock:
            if self.hooks is not None:
                self.hooks.before_advance(self.robot)
            self.robot.step(self._steps_per_obs)
            stats = self.stats
            stats.physics_steps += self._steps_per_obs
            stats.sim_time_s = round(stats.physics_steps * self.robot.timestep, 9)
            stats.distance_x = float(self.robot.base_position()[0]) - stats.start_x
            stats.min_base_height = min(stats.min_base_height, self.robot.base_clearance())
            if not stats.fell and self.robot.has_fallen():
                stats.fell = True
                stats.fall_time_s = self.robot.sim_time
                logger.warning('simulated robot fell at t=%.2f s', self.robot.sim_time)
            self._record_trajectory()

    # ------------------------------------------------- caller-driven lockstep
    def publish_observation(self, use_hooks: bool = True) -> int | None:
        """
        Publish the current state once (binding first); return its timestamp.

        For a caller that drives lockstep itself, one period at a time:
        ``publish_observation`` -> (the controller answers) ->
        :meth:`await_command` -> :meth:`advance`.

        :param use_hooks: False publishes without the hooks (a connection
            handshake that must not consume their random draws).
        :return: the timestamp, or None when a hook dropped the observation.
        """
        self.bind()
        beat = self._observe(use_hooks)
        if beat.frames is None:
            return None
        self._paced.publish(beat.timestamp_ns, beat.frames)
        return beat.timestamp_ns

    def await_command(self, timestamp: int) -> None:
        """Apply commands until the one answering ``timestamp`` (lockstep timeout applies)."""
        self._paced.await_answer(timestamp)

    def advance(self) -> None:
        """Advance the physics by one observation period and update the statistics."""
        self._advance()

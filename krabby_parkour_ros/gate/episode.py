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
One gate episode: the real controller against the simulated HAL, in lockstep, in one thread.

The simulator (:class:`~krabby_parkour_ros.sim.hal_server.SimHal`, inproc
HAL endpoints) and the controller (:class:`~krabby_parkour_ros.control.runtime.ControlRuntime`:
the real :class:`~krabby_parkour_ros.hal.client.HalClient`, observation
builder, policy, action mapper and :class:`~krabby_parkour_ros.control.step.ControlStep`
with its safety state machine) take turns, one HAL period (10 ms) at a
time: the simulator publishes an observation, the controller receives it
over ZeroMQ, ticks and sends its command, the simulator applies it and
steps the physics. The control step runs on simulated time (its clock and
the observations' receive times), so the result does not depend on how
busy the machine is: the same seed gives the same episode bit for bit.

This replaces only the *scheduling* of the deployed loop
(:class:`~krabby_parkour_ros.control.driver.TickDriver` answers each
observation as it arrives, which is what happens here); every byte the
controller reads and sends goes through the real wire code.

A pilot steers the heading target toward the course's waypoints (yaw-rate
commands, as an operator would); the forward command is constant.

Length: about 520 lines, beyond the usual ~450. One episode's wire-level
driving, its pilot and its outcome measures (fall, progress, tracking) stay
together because each measure reads the same per-step state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
import logging
import math
from pathlib import Path
import re
import tempfile
import time
from typing import Any, TYPE_CHECKING
import uuid
import zlib

import numpy as np

from krabby_parkour_ros.control.config import ControlConfig
from krabby_parkour_ros.control.runtime import (
    ControlRuntime,
    load_policy,
    RuntimeConfig,
    RuntimeConfigError,
)
from krabby_parkour_ros.control.step import ControlStep
from krabby_parkour_ros.gate.perturbations import apply_physics, GateHooks, realize, Realized
from krabby_parkour_ros.gate.terrains import build_course, Course
from krabby_parkour_ros.hal.config import HalClientConfig
from krabby_parkour_ros.mapping.navigation import NavigationCommand
from krabby_parkour_ros.mapping.observation import ObservationConfig
from krabby_parkour_ros.policy.checkpoint import ModelWeights
from krabby_parkour_ros.sim.hal_server import SimHal, SimHalConfig

if TYPE_CHECKING:  # recording is imported at run time only when an episode records
    from krabby_parkour_ros.recording.format import Frame
    from krabby_parkour_ros.recording.recorder import HalRecorder

_LOG = logging.getLogger(__name__)

#: Episode outcomes; only ``success`` passes.
OUTCOMES = ('success', 'fell', 'stuck', 'fault', 'refused', 'error')
#: Simulated seconds the robot must stay up after reaching the goal.
SETTLE_S = 1.0
#: Simulated clock of the control step at the episode start (ns, any positive value).
_CLOCK_ORIGIN_NS = 1_000_000_000
#: Longest wall-clock wait for an observation or a command (s).
_WIRE_TIMEOUT_S = 5.0
#: Trajectory points kept per episode in the scorecard.
_TRAJECTORY_POINTS = 60


class GateRunError(RuntimeError):
    """The lockstep exchange between simulator and controller broke down."""


@dataclass(frozen=True)
class EpisodeSpec:
    """
    One cell of the gate matrix, for one seed.

    :param terrain: terrain family (:data:`~krabby_parkour_ros.gate.terrains.TERRAINS`).
    :param difficulty: difficulty in [0, 1].
    :param perturbation: perturbation name
        (:data:`~krabby_parkour_ros.gate.perturbations.PERTURBATIONS`).
    :param seed: seed of the terrain draws, perturbation draws and reset pose.
    :param checkpoint: checkpoint path ('' = the shipped teacher).
    :param policy_card: explicit policy card path ('' = beside the checkpoint).
    :param label: which checkpoint of a comparison ('candidate', 'baseline').
    :param duration_s: simulated seconds at most.
    :param vx: forward command (m/s).
    :param soft_start_s: the controller's soft start (s) before the policy runs.
    :param record_dir: folder for MCAP recordings ('' = none).
    :param keep_recordings: 'failures', 'all' or 'none'.
    :param allow_torchscript: allow a TorchScript checkpoint (trusted files only).
    """

    terrain: str
    difficulty: float
    perturbation: str
    seed: int
    checkpoint: str = ''
    policy_card: str = ''
    label: str = 'candidate'
    duration_s: float = 12.0
    vx: float = 0.5
    soft_start_s: float = 0.5
    record_dir: str = ''
    keep_recordings: str = 'failures'
    allow_torchscript: bool = False

    @property
    def key(self) -> str:
        """Return a unique, file-name-safe name of the episode."""
        return (
            f'{self.label}__{self.terrain}__d{self.difficulty:.2f}__{self.perturbation}'
            f'__s{self.seed}'
        )


def stable_seed(*parts: Any) -> int:
    """Return a 32-bit number from ``parts`` that is the same in every process."""
    return zlib.crc32('/'.join(str(p) for p in parts).encode('utf-8'))


class Pilot:
    """
    Steer the heading target toward waypoints with yaw-rate commands.

    :param waypoints: (x, y) points in order; one is passed when the base x
        is beyond it.
    :param gain: yaw rate (rad/s) per radian of heading error.
    :param max_rate: yaw-rate limit (rad/s).
    """

    def __init__(
        self, waypoints: Sequence[tuple[float, float]], gain: float = 2.0, max_rate: float = 1.0
    ) -> None:
        self._waypoints = [tuple(map(float, w)) for w in waypoints]
        self._gain = gain
        self._max_rate = max_rate

    def yaw_rate(self, position: np.ndarray, heading_target: float | None) -> float:
        """Return the yaw-rate command for the base ``position`` and the current target."""
        while len(self._waypoints) > 1 and position[0] > self._waypoints[0][0]:
            self._waypoints.pop(0)
        if heading_target is None:
            return 0.0
        wx, wy = self._waypoints[0]
        bearing = math.atan2(wy - float(position[1]), wx - float(position[0]))
        error = math.atan2(math.sin(bearing - heading_target), math.cos(bearing - heading_target))
        return float(np.clip(self._gain * error, -self._max_rate, self._max_rate))


class SimulatedTimeTaps:
    """
    HAL client taps that record into a :class:`HalRecorder` on simulated time.

    A gate episode runs faster than real time; recorded on the wall clock,
    10 s of walking would fill a fraction of a second. Each record's time is
    the simulated time of the current period plus the real time elapsed
    since its observation was published (transport and controller compute),
    so ``parkour_report`` and Foxglove show simulated time with the
    real controller latency.

    :param recorder: the recorder.
    :param clock: one-element list holding the simulated monotonic time (ns).
    """

    def __init__(self, recorder: HalRecorder, clock: list[int]) -> None:
        self._recorder = recorder
        self._clock = clock
        self._wall_origin = time.time_ns() - clock[0]
        self._published = time.monotonic_ns()

    def mark_published(self) -> None:
        """Note the publication of an observation (the time origin of its period)."""
        self._published = time.monotonic_ns()

    def _times(self, monotonic_ns: int) -> tuple[int, int]:
        simulated = self._clock[0] + max(0, monotonic_ns - self._published)
        return simulated, self._wall_origin + simulated

    def observation(self, frames: Sequence[Frame], monotonic_ns: int, wall_ns: int) -> None:
        """Record a received observation."""
        self._recorder.record_observation(frames, *self._times(monotonic_ns))

    def command(self, frames: Sequence[Frame], monotonic_ns: int, wall_ns: int) -> None:
        """Record a sent command."""
        self._recorder.record_command(frames, *self._times(monotonic_ns))


_WEIGHTS: dict[tuple[str, str, bool], ModelWeights] = {}


def _weights(spec: EpisodeSpec) -> ModelWeights:
    """Load a checkpoint once per process (loading and probing takes about a second)."""
    key = (spec.checkpoint, spec.policy_card, spec.allow_torchscript)
    if key not in _WEIGHTS:
        _WEIGHTS[key] = load_policy(
            RuntimeConfig(
                checkpoint=spec.checkpoint,
                policy_card=spec.policy_card,
                allow_torchscript=spec.allow_torchscript,
            )
        )
    return _WEIGHTS[key]


def _runtime_config(
    spec: EpisodeSpec, runtime_changes: dict[str, Any], obs_endpoint: str, cmd_endpoint: str
) -> RuntimeConfig:
    observation = replace(ObservationConfig(), **runtime_changes.get('observation', {}))
    return RuntimeConfig(
        hal=HalClientConfig(observation_endpoint=obs_endpoint, command_endpoint=cmd_endpoint),
        checkpoint=spec.checkpoint,
        policy_card=spec.policy_card,
        allow_torchscript=spec.allow_torchscript,
        device='cpu',
        inference_threads=1,
        joint_map=runtime_changes.get('joint_map', 'go2_sim'),
        base_velocity_source=runtime_changes.get('base_velocity_source', 'hal'),
        observation=observation,
        control=ControlConfig(
            control_rate=100.0, policy_decimation=2, soft_start_duration=spec.soft_start_s
        ),
    )


def _percentiles_ms(samples: list[float]) -> dict[str, float | None]:
    if not samples:
        return {'p50': None, 'p99': None, 'max': None}
    array = np.asarray(samples) * 1e3
    return {
        'p50': round(float(np.percentile(array, 50)), 4),
        'p99': round(float(np.percentile(array, 99)), 4),
        'max': round(float(array.max()), 4),
    }


def run_episode(spec: EpisodeSpec) -> dict[str, Any]:
    """
    Run one episode; return its result as a JSON-ready dict.

    Never raises for a policy that misbehaves: a refused deployment, a
    latched fault or an exception become the outcomes ``refused``,
    ``fault`` and ``error`` with their reason.
    """
    wall0 = time.perf_counter()
    course = build_course(
        spec.terrain,
        spec.difficulty,
        np.random.default_rng(
            [spec.seed, stable_seed('terrain', spec.terrain, f'{spec.difficulty:.4f}')]
        ),
    )
    scratch = Path(spec.record_dir) if spec.record_dir else Path(tempfile.gettempdir())
    # Drawn per cell and seed: one seed already spreads a perturbation's range over the matrix.
    realized = realize(
        spec.perturbation,
        np.random.default_rng(
            [
                spec.seed,
                stable_seed(
                    'perturbation', spec.perturbation, spec.terrain, f'{spec.difficulty:.4f}'
                ),
            ]
        ),
        scratch / 'joint_maps',
    )
    result: dict[str, Any] = {
        'key': spec.key,
        'spec': asdict(spec),
        'course': asdict(course),
        'perturbation_values': realized.values,
        'outcome': 'error',
        'success': False,
        'reason': '',
        'goal_x': course.goal_x,
        'recording': None,
    }
    try:
        _simulate(spec, course, realized, result)
    except Exception as exc:  # noqa: B902 - one broken episode must not end the matrix
        _LOG.exception('episode %s failed', spec.key)
        result['outcome'] = 'error'
        result['reason'] = f'{type(exc).__name__}: {exc}'
    result['wall_s'] = round(time.perf_counter() - wall0, 3)
    return result


def _recording_path(spec: EpisodeSpec) -> Path | None:
    if not spec.record_dir or spec.keep_recordings == 'none':
        return None
    safe = re.sub(r'[^A-Za-z0-9_.-]', '_', spec.key)
    return Path(spec.record_dir) / 'recordings' / f'{safe}.mcap'


def _simulate(
    spec: EpisodeSpec, course: Course, realized: Realized, result: dict[str, Any]
) -> None:
    uid = uuid.uuid4().hex[:12]
    obs_ep, cmd_ep = f'inproc://gate-obs-{uid}', f'inproc://gate-cmd-{uid}'
    sim = SimHal(
        SimHalConfig(
            scenario=course.scenario_name,
            scenario_parameters=dict(course.scenario_parameters),
            seed=spec.seed,
            observation_endpoint=obs_ep,
            command_endpoint=cmd_ep,
            pacing='lockstep',
            lockstep_timeout_s=_WIRE_TIMEOUT_S,
            depth_height=1,
            depth_width=1,
        )
    )
    sim.hooks = GateHooks(
        realized,
        np.random.default_rng([spec.seed, stable_seed('noise', spec.perturbation)]),
        sim.robot.layout.joint_slots() >= 0,
    )
    apply_physics(realized, sim.robot)
    runtime = None
    recorder = None
    record_path = _recording_path(spec)
    try:
        sim.bind()
        config = _runtime_config(spec, realized.runtime, obs_ep, cmd_ep)
        if record_path is not None:
            from krabby_parkour_ros.recording.session import open_recorder

            recorder = open_recorder(
                str(record_path),
                0,
                metadata={
                    'client': 'gate',
                    'episode': spec.key,
                    'terrain': spec.terrain,
                    'difficulty': f'{spec.difficulty:.2f}',
                    'perturbation': spec.perturbation,
                    'seed': str(spec.seed),
                    'joint_map': config.joint_map,
                },
            )
        try:
            runtime = ControlRuntime.build(
                config, context=sim.transport_context, weights=_weights(spec)
            )
        except (RuntimeConfigError, ValueError) as exc:
            result['outcome'] = 'refused'
            result['reason'] = str(exc)
            return
        _lockstep(spec, course, sim, runtime, result, recorder)
    finally:
        if recorder is not None:
            from krabby_parkour_ros.recording.session import detach_recorder

            detach_recorder(runtime.hal if runtime is not None else None, recorder)
            keep = spec.keep_recordings == 'all' or result['outcome'] not in ('success', 'refused')
            if keep and record_path is not None and record_path.is_file():
                result['recording'] = str(record_path)
            elif record_path is not None:
                record_path.unlink(missing_ok=True)
        if runtime is not None:
            runtime.close()
        sim.close()


def _handshake(sim: SimHal, runtime: ControlRuntime) -> None:
    """Publish (without hooks) until the client's subscription is live; nothing steps."""
    for _ in range(400):
        sim.publish_observation(use_hooks=False)
        if runtime.hal.wait_for_observation(0.01) is not None:
            return
    raise GateRunError(
        'handshake: expected the HAL client to receive an observation, got none in 400 tries'
    )


def _lockstep(
    spec: EpisodeSpec,
    course: Course,
    sim: SimHal,
    runtime: ControlRuntime,
    result: dict[str, Any],
    recorder: HalRecorder | None = None,
) -> None:
    clock = [_CLOCK_ORIGIN_NS]
    taps = None
    if recorder is not None:
        # Nothing is published before the handshake below: no observation escapes.
        taps = SimulatedTimeTaps(recorder, clock)
        runtime.hal.set_taps(observation=taps.observation, command=taps.command)
    config = runtime.config
    step = ControlStep(
        runtime.hal,
        runtime.builder,
        runtime.mapper,
        runtime.model,
        config.control,
        config.navigation,
        clock=lambda: clock[0],
    )
    _handshake(sim, runtime)
    sim.reset_statistics()
    step.activate()
    pilot = Pilot(course.waypoints)
    robot = sim.robot
    tick_s: list[float] = []
    goal_time: float | None = None
    max_x = float(robot.base_position()[0])
    lost = 0
    while robot.sim_time < spec.duration_s - 1e-9:
        now = _CLOCK_ORIGIN_NS + int(round(robot.sim_time * 1e9))
        clock[0] = now
        stamp = sim.publish_observation()
        started = time.perf_counter()
        if taps is not None:
            taps.mark_published()
        observation = None
        if stamp is not None:
            observation = runtime.hal.wait_for_observation(_WIRE_TIMEOUT_S)
            if observation is None or observation.timestamp_ns != stamp:
                lost += 1
                observation = None
            else:
                observation = replace(observation, receive_time_ns=now)
        yaw_rate = pilot.yaw_rate(robot.base_position(), runtime.builder.heading_target)
        step.set_navigation_command(NavigationCommand(spec.vx, 0.0, yaw_rate), now_ns=now)
        tick = step.tick(observation, now)
        if observation is not None:
            tick_s.append(time.perf_counter() - started)
        if stamp is not None and observation is not None and tick.sent:
            sim.await_command(stamp)
        sim.advance()
        x = float(robot.base_position()[0])
        max_x = max(max_x, x)
        if sim.stats.fell or step.fault_latched:
            break
        if goal_time is None and x >= course.goal_x:
            goal_time = robot.sim_time
        if goal_time is not None and robot.sim_time >= goal_time + SETTLE_S:
            break
    _summarize(spec, course, sim, runtime, step, result, goal_time, max_x, tick_s, lost)


def _summarize(
    spec: EpisodeSpec,
    course: Course,
    sim: SimHal,
    runtime: ControlRuntime,
    step: ControlStep,
    result: dict[str, Any],
    goal_time: float | None,
    max_x: float,
    tick_s: list[float],
    lost: int,
) -> None:
    stats = sim.statistics()
    if step.fault_latched:
        outcome, reason = 'fault', step.last_error
    elif stats['fell']:
        outcome, reason = 'fell', f'fell at {stats["fall_time_s"]:.2f} s, x = {max_x:.2f} m'
    elif goal_time is None:
        outcome, reason = 'stuck', f'goal x {course.goal_x:.2f} m not reached (max {max_x:.2f})'
    else:
        outcome, reason = 'success', ''
    hal = runtime.hal.stats()
    trajectory = stats['trajectory']
    stride = max(1, math.ceil(len(trajectory) / _TRAJECTORY_POINTS))
    inference = step.inference_time.summary()
    result.update(
        {
            'outcome': outcome,
            'reason': reason,
            'success': outcome == 'success',
            'sim_time_s': round(sim.robot.sim_time, 3),
            'time_to_fall_s': stats['fall_time_s'] if stats['fell'] else None,
            'goal_time_s': None if goal_time is None else round(goal_time, 3),
            'distance_m': round(max_x, 4),
            'progress': round(float(np.clip(max_x / course.goal_x, 0.0, 1.0)), 4),
            'obstacles_passed': int(sum(1 for x in course.obstacle_x if max_x > x + 0.3)),
            'min_base_height_m': stats['min_base_height'],
            'mode': step.mode.value,
            'counters': {k: v for k, v in step.counters.items() if v},
            'failures_by_reason': dict(step.failures_by_reason),
            'wire_clamps': dict(hal.get('wire_clamps', {})),
            'mapper_clamps': runtime.mapper.clamp_counts(),
            'rate_limited': runtime.mapper.rate_limit_counts(),
            'tick_latency_ms': _percentiles_ms(tick_s),
            'inference_ms': {
                'p50': round(inference['p50'] * 1e3, 4) if inference['count'] else None,
                'p99': round(inference['p99'] * 1e3, 4) if inference['count'] else None,
            },
            'injected_latency_ms': 10
            * (
                int(result['perturbation_values'].get('observation_delay_periods', 0))
                + int(result['perturbation_values'].get('action_delay_periods', 0))
            ),
            'observations_dropped': (
                sim.hooks.counts['dropped'] if isinstance(sim.hooks, GateHooks) else 0
            ),
            'observations_lost': lost,
            'lockstep_timeouts': stats['lockstep_timeouts'],
            'hal_rejections': dict(hal.get('rejections', {})),
            'trajectory': trajectory[::stride],
        }
    )

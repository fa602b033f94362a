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
The node's parameters: one table, declared with descriptors, turned into settings.

:data:`PARAMETERS` is the single source: the node declares it (with
descriptions, ranges, choices and read-only flags), ``config/parkour.yaml``
mirrors it (a test checks both agree), and :func:`runtime_config_from_values`
turns the values into a :class:`~krabby_parkour_ros.control.runtime.RuntimeConfig`.

Three kinds of parameter:

- *wiring* (``read_only``): facts of the robot set at launch (HAL endpoints,
  control rate, policy decimation, joint map); they never change in a process.
- *configure-time*: read in ``on_configure`` (checkpoint, sources, safety
  timings); changes are refused while the node is configured (clean up,
  change, configure again).
- *live*: applied at once (``shadow_mode``, ``publish_observation``).

Length: about 610 lines, beyond the usual ~450: most of the file is the :data:`PARAMETERS`
table (every declared parameter with its description); the logic is short.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from krabby_parkour_ros.control.config import ControlConfig, RANGES as CONTROL_RANGES
from krabby_parkour_ros.control.runtime import (
    INFERENCE_THREADS_RANGE,
    PROBE_TIMEOUT_RANGE,
    RuntimeConfig,
)
from krabby_parkour_ros.hal.config import CLIENT_RANGES as HAL_RANGES, HalClientConfig
from krabby_parkour_ros.mapping.action import ActionMapperConfig, MAX_DELTA_PER_STEP_MAX
from krabby_parkour_ros.mapping.navigation import NavigationError, NavigationLimits
from krabby_parkour_ros.mapping.observation import ObservationConfig
from krabby_parkour_ros.policy.deadline import DEFAULT_PROBE_TIMEOUT_S

WIRING = 'wiring'
CONFIGURE = 'configure'
LIVE = 'live'

_TERRAIN_FLAGS = {'parkour': (1.0, 0.0), 'walk': (0.0, 1.0)}


@dataclass(frozen=True)
class ParamSpec:
    """
    One declared parameter.

    :param name: ROS parameter name (dots nest in YAML).
    :param default: default value; its Python type is the parameter type.
    :param description: what it does, shown by ``ros2 param describe``.
    :param kind: :data:`WIRING`, :data:`CONFIGURE` or :data:`LIVE`.
    :param value_range: inclusive (min, max) for numbers.
    :param choices: allowed values for strings.
    """

    name: str
    default: Any
    description: str
    kind: str = CONFIGURE
    value_range: tuple[float, float] | None = None
    choices: Sequence[str] | None = None

    def check(self, value: Any) -> str | None:
        """Return why ``value`` is refused, or None when it is valid."""
        want = type(self.default)
        if want is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, want) or (want is int and isinstance(value, bool)):
            return f'{self.name} must be a {want.__name__}, got {type(value).__name__} {value!r}'
        if self.value_range is not None:
            low, high = self.value_range
            if not low <= value <= high:
                return f'{self.name} must be in [{low}, {high}], got {value!r}'
        if self.choices is not None and value not in self.choices:
            return f'{self.name} must be one of {list(self.choices)}, got {value!r}'
        return None


PARAMETERS: tuple[ParamSpec, ...] = (
    # -- wiring (read-only) --------------------------------------------------------------
    ParamSpec(
        'hal.observation_endpoint',
        'tcp://127.0.0.1:6001',
        'HAL observation PUB endpoint the node connects its SUB to '
        '(tcp://host:port or inproc://name).',
        WIRING,
    ),
    ParamSpec(
        'hal.command_endpoint',
        'tcp://127.0.0.1:6002',
        'HAL command PULL endpoint the node connects its PUSH to.',
        WIRING,
    ),
    ParamSpec(
        'hal.max_message_bytes',
        0,
        'Explicit per-frame limit of observations in bytes (ZMQ MAXMSGSIZE); 0 = derive '
        'it from hal.max_camera_height/width (largest legal frame + 64 KiB). A peer '
        'sending a larger frame is dropped before it reaches memory.',
        WIRING,
        HAL_RANGES['max_message_bytes'],
    ),
    ParamSpec(
        'hal.max_camera_height',
        480,
        'Largest camera height (rows) the HAL may send; bounds memory per frame.',
        WIRING,
        HAL_RANGES['max_camera_height'],
    ),
    ParamSpec(
        'hal.max_camera_width',
        640,
        'Largest camera width (columns) the HAL may send; bounds memory per frame.',
        WIRING,
        HAL_RANGES['max_camera_width'],
    ),
    ParamSpec(
        'hal.max_command_age',
        0.1,
        'Seconds after which a command must not be acted on; a command refused for '
        'longer counts a command stall (docs/hal.md: the HAL must drop older ones).',
        WIRING,
        HAL_RANGES['max_command_age_s'],
    ),
    ParamSpec(
        'hal.curve_server_key',
        '',
        "CurveZMQ: the HAL's public key (40-char Z85, or the path of its .key "
        'certificate file); empty = no encryption (loopback only). Needs '
        'hal.curve_secret_key and tcp endpoints.',
        WIRING,
    ),
    ParamSpec(
        'hal.curve_secret_key',
        '',
        "CurveZMQ: this node's key pair as the path of a .key_secret certificate file "
        '(a Z85 literal works but is readable through ros2 param get); its public key '
        'must be authorized by the HAL.',
        WIRING,
    ),
    ParamSpec(
        'hal.max_observation_age',
        0.0,
        'Reject observations whose timestamp_ns is more than this many seconds older '
        '(or newer) than the local wall clock at reception (rejection reasons too_old, '
        'from_future). Only for HALs with synced clocks (chrony/PTP); 0.0 = off.',
        WIRING,
        HAL_RANGES['max_observation_age_s'],
    ),
    ParamSpec(
        'control_rate',
        100.0,
        'Command ticks per second (a command goes out every tick).',
        WIRING,
        CONTROL_RANGES['control_rate'],
    ),
    ParamSpec(
        'policy_decimation',
        2,
        'The policy runs every this many ticks; '
        'policy_decimation / control_rate must equal the policy period of its card.',
        WIRING,
        CONTROL_RANGES['policy_decimation'],
    ),
    ParamSpec(
        'joint_map',
        'go2_sim',
        'Joint map: shipped name (go2_sim, krabby) or path to a '
        'joint-map YAML (policy joints -> the 18 hardware slots).',
        WIRING,
    ),
    ParamSpec(
        'sync_to_observations',
        True,
        'Tick when an observation arrives (rate-limited '
        "to control_rate) instead of on the control thread's fixed clock grid.",
        WIRING,
    ),
    ParamSpec(
        'robot_name',
        '',
        'The robot, as hardware_id of every /diagnostics status and '
        "in the recording's metadata; empty: the joint map's name.",
        WIRING,
    ),
    # -- configure-time ------------------------------------------------------------------
    ParamSpec(
        'checkpoint', '', 'Policy checkpoint path; empty: the shipped trained Go2 parkour teacher.'
    ),
    ParamSpec(
        'policy_card',
        '',
        'Policy card YAML; required for a checkpoint without a policy_card.yaml beside it.',
    ),
    ParamSpec(
        'allow_unsafe_pickle',
        False,
        'Allow checkpoints that need arbitrary pickled '
        'code (runs code from the file: trusted files only).',
    ),
    ParamSpec(
        'allow_torchscript',
        False,
        'Allow TorchScript checkpoints: their code runs at '
        'load and at every inference (it can write files or never return): trusted '
        'files only. Safe formats: safetensors, ONNX.',
    ),
    ParamSpec(
        'policy_probe_timeout',
        DEFAULT_PROBE_TIMEOUT_S,
        'Seconds the policy may take '
        'to load, verify and warm up on configure; a slower (or looping) model is '
        'refused.',
        value_range=PROBE_TIMEOUT_RANGE,
    ),
    ParamSpec(
        'device',
        'cpu',
        'Inference device: cpu or cuda (falls back to cpu with a warning when CUDA is absent).',
        choices=('cpu', 'cuda'),
    ),
    ParamSpec(
        'inference_threads',
        1,
        'Torch/onnxruntime threads for inference.',
        value_range=INFERENCE_THREADS_RANGE,
    ),
    ParamSpec(
        'height_scan_source',
        'hal',
        'hal: the height_scan key of the HAL; '
        'flat_ground: documented substitute, refused for policies that need a scan.',
        choices=('hal', 'flat_ground'),
    ),
    ParamSpec(
        'base_velocity_source',
        'hal',
        'hal: the base_linear_velocity key; '
        "estimator: the policy's estimator network (refused if it has none).",
        choices=('hal', 'estimator'),
    ),
    ParamSpec(
        'missing_imu',
        'refuse',
        'When the HAL sends no IMU keys: refuse (policy '
        'holds) or assume_level (zero roll/pitch/yaw and angular velocity, logged).',
        choices=('refuse', 'assume_level'),
    ),
    ParamSpec(
        'missing_joint_velocities',
        'finite_difference',
        'When the HAL sends no '
        'joint_velocities: finite_difference of positions over HAL timestamps, or '
        'refuse.',
        choices=('finite_difference', 'refuse'),
    ),
    ParamSpec(
        'missing_foot_contacts',
        'refuse',
        'When the HAL sends no foot_contacts: '
        'refuse, or assume_stance (all feet in contact, logged).',
        choices=('refuse', 'assume_stance'),
    ),
    ParamSpec(
        'terrain',
        'parkour',
        'Terrain flags of the observation: parkour (1, 0) or walk (0, 1).',
        choices=tuple(_TERRAIN_FLAGS),
    ),
    ParamSpec(
        'stale_timeout',
        0.1,
        'Seconds without a fresh observation before the policy '
        'stops and the last safe target is held.',
        value_range=CONTROL_RANGES['stale_timeout'],
    ),
    ParamSpec(
        'soft_start_duration',
        2.0,
        'Seconds of the ramp from the measured pose to the default pose on activation.',
        value_range=CONTROL_RANGES['soft_start_duration'],
    ),
    ParamSpec(
        'recovery_ramp_duration',
        0.5,
        'Seconds of the ramp back to the default pose after a hold ends.',
        value_range=CONTROL_RANGES['recovery_ramp_duration'],
    ),
    ParamSpec(
        'stale_resume_window',
        0.5,
        'A stale-data hold shorter than this resumes the '
        'policy directly (the robot is mid-gait); longer ones ramp to the default pose '
        'first. 0 always ramps.',
        value_range=CONTROL_RANGES['stale_resume_window'],
    ),
    ParamSpec(
        'max_consecutive_failures',
        5,
        'Failed policy steps in a row before the node takes its lifecycle error transition.',
        value_range=CONTROL_RANGES['max_consecutive_failures'],
    ),
    ParamSpec(
        'activation_margin',
        0.1,
        'Radians a measured joint position may lie outside '
        "the joint map's position range and still be ramped from on activation (its "
        'first target is clamped into the target limits); further out, or non-finite, '
        'activation is refused and the joint is named.',
        value_range=CONTROL_RANGES['activation_margin'],
    ),
    ParamSpec(
        'stand_on_zero_command',
        True,
        'true: a cmd_vel below stand_threshold for '
        'stand_dwell seconds ramps to the standing pose and holds it (mode stand; the '
        'teacher never learnt to stand and walks on at about 0.25 m/s); a command above '
        'stand_threshold + stand_hysteresis resumes the policy through the recovery '
        'ramp. false: walk on a zero command, as trained.',
    ),
    ParamSpec(
        'stand_threshold',
        0.1,
        'Command magnitude max(|vx|, |vy|, |yaw rate|) below '
        'which cmd_vel counts as zero (m/s, rad/s).',
        value_range=CONTROL_RANGES['stand_threshold'],
    ),
    ParamSpec(
        'stand_hysteresis',
        0.05,
        'A standing robot resumes walking only above stand_threshold plus this (m/s, rad/s).',
        value_range=CONTROL_RANGES['stand_hysteresis'],
    ),
    ParamSpec(
        'stand_dwell',
        0.5,
        'Seconds cmd_vel must stay below stand_threshold before the robot stands.',
        value_range=CONTROL_RANGES['stand_dwell'],
    ),
    ParamSpec(
        'stand_ramp_duration',
        0.5,
        'Seconds of the ramp from the gait to the standing pose.',
        value_range=CONTROL_RANGES['stand_ramp_duration'],
    ),
    ParamSpec(
        'max_joint_delta',
        0.0,
        'Largest change of a joint target per tick (rad); 0 disables the rate limit.',
        value_range=(0.0, MAX_DELTA_PER_STEP_MAX),
    ),
    ParamSpec(
        'cmd_vel_timeout',
        0.5,
        'Seconds after the last cmd_vel before the navigation command falls back to zero.',
        value_range=CONTROL_RANGES['command_timeout'],
    ),
    ParamSpec(
        'nav.vx_min', 0.0, 'Smallest forward velocity command (m/s).', value_range=(-2.0, 2.0)
    ),
    ParamSpec(
        'nav.vx_max',
        0.8,
        'Largest forward velocity command (m/s); the teacher was trained on 0.3-0.8.',
        value_range=(-2.0, 2.0),
    ),
    ParamSpec(
        'nav.yaw_rate_max',
        1.0,
        'Largest |yaw rate| command (rad/s); it steers the heading target of the delta-yaw terms.',
        value_range=(0.0, 4.0),
    ),
    ParamSpec(
        'late_threshold',
        0.002,
        'A tick more than this many seconds after its due time counts as late.',
        value_range=CONTROL_RANGES['late_threshold'],
    ),
    ParamSpec(
        'realtime_priority',
        0,
        '0: the control thread and the HAL receiver thread use the default scheduler; '
        '1-99: both SCHED_FIFO at this priority (needs CAP_SYS_NICE or an rtprio limit; '
        'refused -> default scheduler and a warning; see docs/node.md).',
        value_range=CONTROL_RANGES['realtime_priority'],
    ),
    ParamSpec(
        'diagnostics_period',
        1.0,
        'Seconds between /diagnostics messages.',
        value_range=(0.1, 10.0),
    ),
    # /diagnostics thresholds (node/diagnostics.py DiagnosticThresholds), judged
    # over the last diagnostics period; a level is raised above its threshold.
    ParamSpec(
        'diagnostics.late_tick_warn_ratio',
        0.05,
        "Share of late ticks in a diagnostics period above which 'control loop' is WARN.",
        value_range=(0.0, 1.0),
    ),
    ParamSpec(
        'diagnostics.late_tick_error_ratio',
        0.25,
        "Share of late ticks in a diagnostics period above which 'control loop' is ERROR.",
        value_range=(0.0, 1.0),
    ),
    ParamSpec(
        'diagnostics.latency_p99_warn_ms',
        10.0,
        'p99 observation -> command latency '
        "(ms) in a diagnostics period above which 'control loop' is WARN.",
        value_range=(0.1, 1000.0),
    ),
    ParamSpec(
        'diagnostics.latency_p99_error_ms',
        50.0,
        'p99 observation -> command latency '
        "(ms) in a diagnostics period above which 'control loop' is ERROR.",
        value_range=(0.1, 1000.0),
    ),
    ParamSpec(
        'diagnostics.inference_p99_warn_ms',
        10.0,
        "p99 policy inference time (ms) in a diagnostics period above which 'policy' is WARN.",
        value_range=(0.1, 1000.0),
    ),
    ParamSpec(
        'diagnostics.inference_p99_error_ms',
        20.0,
        "p99 policy inference time (ms) in a diagnostics period above which 'policy' is ERROR.",
        value_range=(0.1, 1000.0),
    ),
    ParamSpec(
        'diagnostics.hal_rate_warn_ratio',
        0.9,
        "'HAL link' is WARN when the HAL "
        'delivers fewer valid observations per second than this share of the policy '
        'rate.',
        value_range=(0.0, 1.0),
    ),
    ParamSpec(
        'diagnostics.target_clamp_warn_ratio',
        0.1,
        'Joint targets clamped to the joint '
        "map's limits per command sent in a diagnostics period above which 'limits and "
        "safety' is WARN.",
        value_range=(0.0, 1.0),
    ),
    ParamSpec(
        'diagnostics.clear_periods',
        3,
        'Diagnostics periods in a row below a raised '
        'level before the status drops to the lower level (hysteresis).',
        value_range=(1, 100),
    ),
    ParamSpec(
        'publish_debug_topics',
        False,
        'Publish ~/height_scan (PointCloud2), ~/markers '
        '(scan points, foot contacts, command arrow), ~/base_velocity and '
        '~/command_velocity (rqt_plot) for rviz/rqt.',
    ),
    ParamSpec(
        'publish_odometry',
        True,
        'Publish odom (nav_msgs/Odometry) and odom_frame -> '
        'base_frame on /tf at the control rate, from the HAL base_position and '
        'imu_orientation_xyzw keys (none without them: said once), and base_frame -> '
        'yaw_frame (yaw only: the frame of ~/height_scan).',
    ),
    ParamSpec('odom_frame', 'odom', 'Odometry frame id (REP-105), parent of base_frame.'),
    ParamSpec(
        'base_frame', 'base_link', "The robot's base frame id: the URDF's root link (REP-105)."
    ),
    ParamSpec(
        'yaw_frame',
        'base_yaw',
        'Frame id at the base origin with its yaw only, '
        'child of base_frame: the frame of the yaw-aligned height scan.',
    ),
    ParamSpec(
        'cmd_vel_stamped',
        False,
        'Subscribe to cmd_vel as geometry_msgs/TwistStamped '
        '(nav2 on Jazzy and later) instead of Twist.',
    ),
    ParamSpec(
        'record_path',
        '',
        'Record every HAL observation and command (byte-exact) and '
        "the node's topics into MCAP: a .mcap file or a folder (a timestamped file per "
        'configure); empty: off.',
    ),
    ParamSpec(
        'record_max_file_mb',
        1024,
        'Rotate the recording to a new file past this size (MB).',
        value_range=(1, 1 << 20),
    ),
    ParamSpec(
        'record_compression',
        'zstd',
        'Chunk compression of the recording: zstd '
        '(about 4.8x smaller on simulated traffic), lz4 (faster) or none.',
        choices=('none', 'lz4', 'zstd'),
    ),
    # -- live ----------------------------------------------------------------------------
    ParamSpec(
        'shadow_mode',
        False,
        'Run the policy and publish everything but send no command to the HAL.',
        LIVE,
    ),
    ParamSpec(
        'publish_observation',
        False,
        'Publish the full policy observation on ~/policy_observation (debugging).',
        LIVE,
    ),
)

SPECS: dict[str, ParamSpec] = {spec.name: spec for spec in PARAMETERS}


def runtime_config_from_values(get: Callable[[str], Any]) -> RuntimeConfig:
    """
    Build the runtime settings from parameter values.

    :param get: returns the value of a parameter by name.
    :raises ValueError: naming the first invalid value.
    """
    for spec in PARAMETERS:
        problem = spec.check(get(spec.name))
        if problem is not None:
            raise ValueError(problem)
    max_delta = float(get('max_joint_delta'))
    return RuntimeConfig(
        hal=HalClientConfig(
            observation_endpoint=get('hal.observation_endpoint'),
            command_endpoint=get('hal.command_endpoint'),
            max_message_bytes=int(get('hal.max_message_bytes')),
            max_camera_height=int(get('hal.max_camera_height')),
            max_camera_width=int(get('hal.max_camera_width')),
            max_command_age_s=float(get('hal.max_command_age')),
            curve_server_key=get('hal.curve_server_key'),
            curve_secret_key=get('hal.curve_secret_key'),
            max_observation_age_s=float(get('hal.max_observation_age')) or None,
        ),
        checkpoint=get('checkpoint'),
        policy_card=get('policy_card'),
        allow_unsafe_pickle=bool(get('allow_unsafe_pickle')),
        allow_torchscript=bool(get('allow_torchscript')),
        probe_timeout_s=float(get('policy_probe_timeout')),
        device=get('device'),
        inference_threads=int(get('inference_threads')),
        joint_map=get('joint_map'),
        height_scan_source=get('height_scan_source'),
        base_velocity_source=get('base_velocity_source'),
        observation=ObservationConfig(
            terrain_flags=_TERRAIN_FLAGS[get('terrain')],
            missing_imu=get('missing_imu'),
            missing_joint_velocities=get('missing_joint_velocities'),
            missing_foot_contacts=get('missing_foot_contacts'),
        ),
        action=ActionMapperConfig(max_delta_per_step=max_delta if max_delta > 0.0 else None),
        control=ControlConfig(
            control_rate=float(get('control_rate')),
            policy_decimation=int(get('policy_decimation')),
            stale_timeout=float(get('stale_timeout')),
            soft_start_duration=float(get('soft_start_duration')),
            recovery_ramp_duration=float(get('recovery_ramp_duration')),
            stale_resume_window=float(get('stale_resume_window')),
            max_consecutive_failures=int(get('max_consecutive_failures')),
            shadow=bool(get('shadow_mode')),
            command_timeout=float(get('cmd_vel_timeout')),
            sync_to_observations=bool(get('sync_to_observations')),
            late_threshold=float(get('late_threshold')),
            realtime_priority=int(get('realtime_priority')),
            activation_margin=float(get('activation_margin')),
            stand_on_zero_command=bool(get('stand_on_zero_command')),
            stand_threshold=float(get('stand_threshold')),
            stand_hysteresis=float(get('stand_hysteresis')),
            stand_dwell=float(get('stand_dwell')),
            stand_ramp_duration=float(get('stand_ramp_duration')),
        ),
        navigation=_navigation_limits(get),
    )


def _navigation_limits(get: Callable[[str], Any]) -> NavigationLimits:
    """Build the velocity limits; their own check's errors name the ROS parameters."""
    yaw = float(get('nav.yaw_rate_max'))
    try:
        return NavigationLimits(
            vx=(float(get('nav.vx_min')), float(get('nav.vx_max'))),
            vy=(0.0, 0.0),
            yaw_rate=(-yaw, yaw),
        )
    except NavigationError as exc:
        raise ValueError(f'nav.vx_min / nav.vx_max / nav.yaw_rate_max: {exc}') from exc

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
The training contract of a parkour policy (what a deployment must match).

A :class:`PolicyContract` holds every number the observation builder, the
action mapper and the node need to reproduce training: observation layout
and scales, history rule, joint order and default pose, action scale and
clip, rates, PD gains and the scan grid. It is the in-memory form of the
*policy card* (a YAML file beside a checkpoint); :mod:`krabby_parkour_ros.policy`
reads and checks cards, this module only defines the data.

:data:`GO2_PARKOUR_TEACHER` is the contract of the Isaac Lab "extreme
parkour" Go2 teacher (``docs/parkour-policy.md`` of the shared docs).
"""

from __future__ import annotations

from dataclasses import dataclass, field

PROPRIO_DIM = 53
SCAN_DIM = 132
PRIV_EXPLICIT_DIM = 9
PRIV_LATENT_DIM = 29
HISTORY_LENGTH = 10

#: History fill rule of extreme parkour: at episode steps 0 and 1 the whole
#: history is filled with the current proprio (after the build), afterwards
#: it shifts by one. Observation 0 sees zeros, 1 and 2 see copies.
FILL_RULE_EXTREME_PARKOUR = 'fill_twice_then_shift'


@dataclass(frozen=True)
class ObservationLayout:
    """Sizes of the observation slices, in observation order."""

    proprio: int = PROPRIO_DIM
    scan: int = SCAN_DIM
    priv_explicit: int = PRIV_EXPLICIT_DIM
    priv_latent: int = PRIV_LATENT_DIM
    history_length: int = HISTORY_LENGTH

    @property
    def history(self) -> int:
        """Return the number of floats in the flattened history."""
        return self.history_length * self.proprio

    @property
    def total(self) -> int:
        """Length of the whole observation vector."""
        return self.proprio + self.scan + self.priv_explicit + self.priv_latent + self.history

    def slices(self) -> dict:
        """Return ``{name: slice}`` for the five blocks, in order."""
        out = {}
        start = 0
        for name, size in (
            ('proprio', self.proprio),
            ('scan', self.scan),
            ('priv_explicit', self.priv_explicit),
            ('priv_latent', self.priv_latent),
            ('history', self.history),
        ):
            out[name] = slice(start, start + size)
            start += size
        return out


@dataclass(frozen=True)
class ScanGrid:
    """
    Height-scan grid of the policy, in the yaw-aligned base frame.

    Points are ordered with x varying fastest: ``index = iy * nx + ix``,
    ``ix`` from back to front, ``iy`` from right (-y) to left (+y).
    """

    nx: int = 12
    ny: int = 11
    resolution: float = 0.15
    center_x: float = 0.375
    center_y: float = 0.0
    #: value = clip(base_z - ground_z - offset, clip_low, clip_high)
    offset: float = 0.3
    clip_low: float = -1.0
    clip_high: float = 1.0

    @property
    def size(self) -> int:
        """Return the number of scan points."""
        return self.nx * self.ny

    def points_xy(self) -> tuple[tuple[float, float], ...]:
        """Return the (x, y) of every point in observation order."""
        x0 = self.center_x - self.resolution * (self.nx - 1) / 2.0
        y0 = self.center_y - self.resolution * (self.ny - 1) / 2.0
        return tuple(
            (x0 + ix * self.resolution, y0 + iy * self.resolution)
            for iy in range(self.ny)
            for ix in range(self.nx)
        )


@dataclass(frozen=True)
class PolicyContract:
    """Everything about a policy that a deployment must reproduce exactly."""

    name: str
    #: Policy joint names, in policy (action) order.
    joint_names: tuple[str, ...]
    #: Default joint positions (rad), policy order.
    default_joint_positions: tuple[float, ...]
    #: Foot names in the order of the contact terms of the observation.
    foot_names: tuple[str, ...] = ('FL', 'FR', 'RL', 'RR')
    layout: ObservationLayout = field(default_factory=ObservationLayout)
    scan_grid: ScanGrid = field(default_factory=ScanGrid)
    #: True when the policy consumes a height scan (teachers do).
    scan_required: bool = True
    history_fill_rule: str = FILL_RULE_EXTREME_PARKOUR
    ang_vel_scale: float = 0.25
    joint_vel_scale: float = 0.05
    base_lin_vel_scale: float = 2.0
    observation_clip: float = 100.0
    contact_force_threshold: float = 2.0
    action_scale: float = 0.25
    action_clip: float = 4.8
    physics_dt: float = 0.005
    decimation: int = 4
    #: Scan and yaw targets refresh every this many policy steps.
    scan_refresh_steps: int = 5
    kp: float = 40.0
    kd: float = 1.0
    #: Torque limits (N*m), policy order.
    effort_limits: tuple[float, ...] = ()
    #: Velocity limits (rad/s), policy order.
    velocity_limits: tuple[float, ...] = ()
    #: False for generated, untrained weights (demos and tests only).
    trained: bool = True

    @property
    def action_dim(self) -> int:
        """Return the number of policy joints (the action size)."""
        return len(self.joint_names)

    @property
    def policy_period(self) -> float:
        """Return the seconds between two policy steps (dt times decimation)."""
        return self.physics_dt * self.decimation

    @property
    def policy_rate(self) -> float:
        """Return the policy steps per second."""
        return 1.0 / self.policy_period


_GO2_JOINTS = (
    'FL_hip',
    'FR_hip',
    'RL_hip',
    'RR_hip',
    'FL_thigh',
    'FR_thigh',
    'RL_thigh',
    'RR_thigh',
    'FL_calf',
    'FR_calf',
    'RL_calf',
    'RR_calf',
)

#: The Go2 extreme-parkour teacher of the shared models (Isaac Lab order).
GO2_PARKOUR_TEACHER = PolicyContract(
    name='go2_parkour_teacher',
    joint_names=_GO2_JOINTS,
    default_joint_positions=(0.1, -0.1, 0.1, -0.1, 0.8, 0.8, 1.0, 1.0, -1.5, -1.5, -1.5, -1.5),
    effort_limits=(35.0,) * 4 + (40.0,) * 8,
    velocity_limits=(52.4,) * 4 + (30.1,) * 8,
)

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
Build the training observation of an extreme-parkour policy from a HAL observation.

:class:`ObservationBuilder` turns one :class:`~krabby_parkour_ros.hal.messages.HalObservation`
plus the user's :class:`~krabby_parkour_ros.mapping.navigation.NavigationCommand`
into the exact vector the policy was trained on (753 floats for the Go2
teacher): ``[proprio | scan | priv_explicit | priv_latent | history]``, one
small method per term, joined once (``_compute`` lists the terms). Every
term, its source, scale and substitute is documented in
``docs/observation.md``; the semantics follow the shared ``parkour-policy.md``
and the training code (Isaac Lab port of extreme parkour): the sub-rate
refresh of the scan and yaw terms, the contact filter, the history filled
twice after a reset.

A missing source is never silently zero-filled: per source the
:class:`ObservationConfig` either refuses (the build raises
:class:`MissingInputError` and nothing changes) or substitutes a documented
value, flagged in :attr:`ObservationBuilder.substitutions` and logged
(WARNING) the first time after each reset. Settings and errors live in
:mod:`~krabby_parkour_ros.mapping.observation_config` (re-exported here),
the checks in :mod:`~krabby_parkour_ros.mapping.observation_checks`, the
heading target in :mod:`~krabby_parkour_ros.mapping.heading` and the history
in :mod:`~krabby_parkour_ros.mapping.history`.

The per-step path is allocation-free in the numpy sense, which
``bench_mapping`` shows matters (``docs/observation.md``, "Performance"):
every array is preallocated and written with ``out=`` or ``buffer[...] =``
(not ``np.copyto``, whose Python dispatcher costs ~10 us per call on the cold
caches of a 100 Hz tick); the returned vector is the builder's own buffer
(copy it to keep it).

Length: about 460 lines, at the usual ~450: one term function per
observation block plus the builder that writes them into one buffer.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import numpy.typing as npt

from krabby_parkour_ros.contract import PolicyContract
from krabby_parkour_ros.hal.messages import HalObservation, JOINT_COUNT
from krabby_parkour_ros.mapping.checks import constant
from krabby_parkour_ros.mapping.heading import HeadingTarget
from krabby_parkour_ros.mapping.history import ProprioHistory
from krabby_parkour_ros.mapping.joint_map import JointMap
from krabby_parkour_ros.mapping.navigation import NavigationCommand
from krabby_parkour_ros.mapping.observation_checks import (
    check_contract,
    InputCheck,
    ObservationInputs,
    PROPRIO_HEAD,
)
from krabby_parkour_ros.mapping.observation_config import (  # noqa: F401 (re-exported)
    DEFAULT_FLAT_GROUND_HEIGHT,
    MISSING_BASE_VELOCITY_POLICIES,
    MISSING_FOOT_CONTACT_POLICIES,
    MISSING_HEIGHT_SCAN_POLICIES,
    MISSING_IMU_POLICIES,
    MISSING_JOINT_VELOCITY_POLICIES,
    MissingInputError,
    ObservationConfig,
    ObservationConfigError,
    ObservationError,
    ObservationInputError,
    SOURCE_ANGULAR_VELOCITY,
    SOURCE_BASE_VELOCITY,
    SOURCE_FOOT_CONTACTS,
    SOURCE_HEIGHT_SCAN,
    SOURCE_JOINT_VELOCITIES,
    SOURCE_ORIENTATION,
    YAW_FRAMES,
)
from krabby_parkour_ros.mapping.rotation import euler_xyz_from_quat_xyzw

_LOG = logging.getLogger(__name__)

#: Foot contact values above this count as contact (the wire sends 0/1).
CONTACT_THRESHOLD = 0.5


class ObservationBuilder:
    """
    HAL observation + navigation command -> training observation vector.

    :param contract: the policy's training contract.
    :param joint_map: the wire mapping; validated against the contract here.
    :param config: deployment choices (default :class:`ObservationConfig`).
    :raises ObservationConfigError: the contract's layout is not the
        extreme-parkour layout this builder implements.
    :raises krabby_parkour_ros.mapping.joint_map.JointMapError: the map does
        not fit the contract.
    """

    def __init__(
        self,
        contract: PolicyContract,
        joint_map: JointMap,
        config: ObservationConfig | None = None,
    ) -> None:
        self._config = cfg = config if config is not None else ObservationConfig()
        joint_map.validate_against(contract)
        check_contract(contract)
        self._n = contract.action_dim
        self._refresh = int(contract.scan_refresh_steps)
        self._terrain_flags = (float(cfg.terrain_flags[0]), float(cfg.terrain_flags[1]))
        self._heading = HeadingTarget(cfg.yaw_frame, cfg.max_heading_lead, contract.policy_period)
        self._inputs = InputCheck(cfg, len(joint_map.hardware_foot_names), contract.layout.scan)
        self._setup_blocks(contract)
        self._setup_mapping(contract, joint_map)
        self._substitutions: set[str] = set()
        self._warned: set[str] = set()
        self.reset()

    def _setup_blocks(self, contract: PolicyContract) -> None:
        """Allocate the output, the blocks the terms write, and their constants."""
        layout = contract.layout
        n = contract.action_dim
        head = PROPRIO_HEAD
        blocks = layout.slices()
        self._obs = np.zeros(layout.total, dtype=np.float32)
        self._out_proprio = self._obs[blocks['proprio']]
        self._out_scan = self._obs[blocks['scan']]
        self._out_priv_explicit = self._obs[blocks['priv_explicit']]
        self._out_priv_latent = self._obs[blocks['priv_latent']]
        self._history = ProprioHistory(
            self._obs[blocks['history']], layout.history_length, layout.proprio
        )
        self._proprio = p = np.zeros(layout.proprio, dtype=np.float64)
        self._p_ang_vel = p[0:3]
        self._p_pos = p[head : head + n]
        self._p_vel = p[head + n : head + 2 * n]
        self._p_act = p[head + 2 * n : head + 3 * n]
        self._p_contact = p[head + 3 * n : layout.proprio]
        self._scan = np.zeros(layout.scan, dtype=np.float64)
        self._priv_explicit = np.zeros(layout.priv_explicit, dtype=np.float64)
        self._p_lin_vel = self._priv_explicit[0:3]
        grid = contract.scan_grid
        flat = self._config.flat_ground_height - grid.offset
        self._flat_ground_scan = min(max(flat, grid.clip_low), grid.clip_high)
        # 0-d operands: a Python scalar costs a temporary array per ufunc call.
        self._k_ang_vel = constant(contract.ang_vel_scale)
        self._k_lin_vel = constant(contract.base_lin_vel_scale)
        self._k_scan_offset = constant(grid.offset)
        self._k_scan_low = constant(grid.clip_low)
        self._k_scan_high = constant(grid.clip_high)
        self._k_obs_low = constant(-float(contract.observation_clip), np.float32)
        self._k_obs_high = constant(float(contract.observation_clip), np.float32)
        self._proprio_view = self._out_proprio.view()
        self._proprio_view.setflags(write=False)
        self._scan_view = self._out_scan.view()
        self._scan_view.setflags(write=False)

    def _setup_mapping(self, contract: PolicyContract, joint_map: JointMap) -> None:
        """Allocate the wire-to-policy index maps and the joint and foot buffers."""
        n = contract.action_dim
        feet = len(contract.foot_names)
        self._hw_index = np.array(joint_map.hardware_index, dtype=np.intp)
        self._sign = np.array(joint_map.sign, dtype=np.float64)
        self._offset = np.array(joint_map.offset, dtype=np.float64)
        self._default = np.array(contract.default_joint_positions, dtype=np.float64)
        self._foot_index = np.array(joint_map.policy_foot_index, dtype=np.intp)
        self._hw_scratch = np.zeros(JOINT_COUNT, dtype=np.float64)
        self._feet_scratch = np.zeros(len(joint_map.hardware_foot_names), dtype=np.float64)
        self._policy_feet = np.zeros(feet, dtype=np.float64)
        self._q = np.zeros(n, dtype=np.float64)
        self._qd = np.zeros(n, dtype=np.float64)
        self._fd_prev_q = np.zeros(n, dtype=np.float64)
        self._fd_prev_qd = np.zeros(n, dtype=np.float64)
        self._fd_factor = np.zeros((), dtype=np.float64)
        self._k_joint_vel = constant(contract.joint_vel_scale)
        self._k_contact = constant(CONTACT_THRESHOLD)
        self._k_half = constant(0.5)
        self._contact_flags = np.zeros(feet, dtype=bool)
        # Contacts as 0.0 / 1.0 so that OR is a maximum (no casting buffers).
        self._contact_now = np.zeros(feet, dtype=np.float64)
        self._contact_prev = np.zeros(feet, dtype=np.float64)
        self._last_action = np.zeros(n, dtype=np.float64)

    # -- state -----------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget everything: history, counters, heading, last action, memories."""
        self._step = 0
        self._history.reset()
        self._scan.fill(0.0)
        self._scan_substituted = False
        self._proprio.fill(0.0)
        self._priv_explicit.fill(0.0)
        self._obs.fill(0.0)
        self._heading.reset()
        self._last_action.fill(0.0)
        self._contact_prev.fill(0.0)
        #: HAL timestamp of the last build's joint positions; None: no previous
        #: build since the reset (finite differences read 0).
        self._fd_prev_t: int | None = None
        self._fd_prev_q.fill(0.0)
        self._fd_prev_qd.fill(0.0)
        self._base_velocity_measured = False
        self._substitutions.clear()
        self._warned.clear()

    @property
    def config(self) -> ObservationConfig:
        """Return the deployment choices."""
        return self._config

    @property
    def step_count(self) -> int:
        """Return the number of successful builds since the last reset."""
        return self._step

    @property
    def base_velocity_measured(self) -> bool:
        """Return True when the last build had a measured base velocity."""
        return self._base_velocity_measured

    @property
    def substitutions(self) -> frozenset[str]:
        """Return the sources substituted in the last successful build."""
        return frozenset(self._substitutions)

    @property
    def proprio(self) -> np.ndarray:
        """Return the last proprio block as output (read-only float32 view)."""
        return self._proprio_view

    @property
    def scan(self) -> np.ndarray:
        """Return the last scan block as output (read-only float32 view)."""
        return self._scan_view

    @property
    def heading_target(self) -> float | None:
        """Return the heading target (rad, IMU yaw frame); None before a measured yaw."""
        return self._heading.target

    @property
    def last_action(self) -> np.ndarray:
        """Return a copy of the action that the next build reports as previous."""
        return self._last_action.copy()

    def record_action(self, action: npt.ArrayLike) -> None:
        """
        Record the action applied this policy step (the next build's proprio 37:49).

        Training recorded the policy's raw output *before* the ±4.8 clip
        (``docs/observation.md``): pass
        :attr:`~krabby_parkour_ros.mapping.action.ActionResult.raw_action` to
        be training-exact; the clipped action differs only where the policy
        saturates.

        :raises ObservationInputError: wrong length or non-finite values.
        """
        self._last_action[...] = self._inputs.checked(action, 'action', self._n)

    # -- build -----------------------------------------------------------------------------

    def build(self, observation: HalObservation, command: NavigationCommand) -> np.ndarray:
        """
        Build the observation vector for one policy step.

        :param observation: the newest HAL observation.
        :param command: the navigation command in force (already limited).
        :return: the builder's own float32 buffer (copy it to keep it).
        :raises MissingInputError: a required source is absent ('refuse').
        :raises ObservationInputError: an input has a wrong length, non-finite
            values, or time went backwards; the builder state is unchanged.
        """
        refresh = self._step % self._refresh == 0
        inputs = self._inputs(observation, refresh, self._fd_prev_t)
        self._compute(inputs, observation.timestamp_ns, command, refresh)
        return self._obs

    def _compute(
        self, inputs: ObservationInputs, t: int, command: NavigationCommand, refresh: bool
    ) -> None:
        """Write every term into its block, join the blocks once, then age the history."""
        self._substitutions.clear()
        # One method per term, each writing its slice in place; sizes for the Go2 teacher.
        # fmt: off
        self._angular_velocity(inputs.angular_velocity)     # proprio 0:3     3
        yaw = self._roll_pitch(inputs.orientation)          # proprio 3:6     3  roll, pitch, 0
        self._delta_yaws(yaw, command.yaw_rate, refresh)    # proprio 6:8     2
        self._command(command.vx)                           # proprio 8:13    5  0, 0, vx, flags
        self._joint_positions(inputs.joint_positions)       # proprio 13:25  12
        self._joint_velocities(inputs.joint_velocities, t)  # proprio 25:37  12  after positions
        self._previous_action()                             # proprio 37:49  12
        self._foot_contacts(inputs.foot_contacts)           # proprio 49:53   4
        self._height_scan(inputs.height_scan, refresh)      # scan          132
        self._base_velocity(inputs.base_velocity)           # priv_explicit   9  3 + 6 zeros
        # priv_latent (29) stays 0; the history (10 x 53) comes from its ring in _join.
        # fmt: on
        self._join()
        self._history.update(self._proprio, self._step)
        self._step += 1

    def _substitute(self, source: str, what: str) -> None:
        self._substitutions.add(source)
        if source not in self._warned:
            self._warned.add(source)
            _LOG.warning(
                '%s absent: using the substitute (%s); see docs/observation.md', source, what
            )

    # -- terms, in observation order ---------------------------------------------------------

    def _angular_velocity(self, ang_vel: np.ndarray | None) -> None:
        """Proprio 0:3: base angular velocity (body frame) x 0.25; 0 without an IMU."""
        if ang_vel is not None:
            np.multiply(ang_vel, self._k_ang_vel, out=self._p_ang_vel)
        else:
            self._substitute(SOURCE_ANGULAR_VELOCITY, 'assume_level: angular velocity 0')
            self._p_ang_vel.fill(0.0)

    def _roll_pitch(self, orientation: np.ndarray | None) -> float | None:
        """Proprio 3:6: roll, pitch, 0 (level without an IMU); return the yaw or None."""
        p = self._proprio
        p[5] = 0.0
        if orientation is None:
            self._substitute(SOURCE_ORIENTATION, 'assume_level: roll = pitch = 0, on heading')
            p[3] = 0.0
            p[4] = 0.0
            return None
        x, y, z, w = orientation.tolist()
        norm = math.sqrt(x * x + y * y + z * z + w * w)
        roll, pitch, yaw = euler_xyz_from_quat_xyzw(x / norm, y / norm, z / norm, w / norm)
        p[3] = roll
        p[4] = pitch
        return yaw

    def _delta_yaws(self, yaw: float | None, yaw_rate: float, refresh: bool) -> None:
        """Proprio 6:8: delta yaw, and delta next yaw (no next waypoint: the same)."""
        delta = self._heading.update(yaw, yaw_rate, refresh)
        self._proprio[6] = delta
        self._proprio[7] = delta

    def _command(self, vx: float) -> None:
        """Proprio 8:13: two zeroed command slots, commanded vx, the terrain flags."""
        p = self._proprio
        p[8] = 0.0
        p[9] = 0.0
        p[10] = vx
        p[11] = self._terrain_flags[0]
        p[12] = self._terrain_flags[1]

    def _joint_positions(self, q_hw: np.ndarray) -> None:
        """Proprio 13:25: q - default, with q = sign * q_hw + offset (policy order)."""
        self._to_policy_order(q_hw, self._q)
        np.add(self._q, self._offset, out=self._q)
        np.subtract(self._q, self._default, out=self._p_pos)

    def _joint_velocities(self, qd_hw: np.ndarray | None, t: int) -> None:
        """Proprio 25:37: joint velocity x 0.05 (finite differences when absent)."""
        if qd_hw is not None:
            self._to_policy_order(qd_hw, self._qd)
        else:
            self._substitute(
                SOURCE_JOINT_VELOCITIES, 'finite difference of joint positions over HAL timestamps'
            )
            self._finite_difference(t)
        np.multiply(self._qd, self._k_joint_vel, out=self._p_vel)
        self._fd_prev_q[...] = self._q
        self._fd_prev_qd[...] = self._qd
        self._fd_prev_t = t

    def _finite_difference(self, t: int) -> None:
        """Velocity = (q - q_prev) / (t - t_prev) over consecutive builds; 0 after a reset."""
        previous = self._fd_prev_t
        if previous is None:
            self._qd.fill(0.0)
        elif t > previous:
            np.subtract(self._q, self._fd_prev_q, out=self._qd)
            self._fd_factor.fill(1e9 / (t - previous))
            np.multiply(self._qd, self._fd_factor, out=self._qd)
        else:
            # The same observation again: keep the previous estimate.
            self._qd[...] = self._fd_prev_qd

    def _to_policy_order(self, hw: np.ndarray, out: np.ndarray) -> None:
        """Write ``sign * hw[slot]`` per policy joint into ``out``."""
        self._hw_scratch[...] = hw
        # mode='clip': indices were validated by the joint map; 'raise' buffers.
        self._hw_scratch.take(self._hw_index, out=out, mode='clip')
        np.multiply(out, self._sign, out=out)

    def _previous_action(self) -> None:
        """Proprio 37:49: the raw action recorded since the last build (0 after a reset)."""
        self._p_act[...] = self._last_action

    def _foot_contacts(self, contacts: np.ndarray | None) -> None:
        """Proprio 49:53: contact now OR at the previous build, minus 0.5 (FL, FR, RL, RR)."""
        if contacts is not None:
            self._feet_scratch[...] = contacts
            self._feet_scratch.take(self._foot_index, out=self._policy_feet, mode='clip')
            np.greater(self._policy_feet, self._k_contact, out=self._contact_flags)
            self._contact_now[...] = self._contact_flags
        else:
            self._substitute(SOURCE_FOOT_CONTACTS, 'assume_stance: every foot in contact')
            self._contact_now.fill(1.0)
        np.maximum(self._contact_now, self._contact_prev, out=self._p_contact)
        np.subtract(self._p_contact, self._k_half, out=self._p_contact)
        self._contact_prev[...] = self._contact_now

    def _height_scan(self, scan: np.ndarray | None, refresh: bool) -> None:
        """Scan: clip(h - 0.3, -1, 1) per grid point, read on refresh steps, held between."""
        if not refresh:
            if self._scan_substituted:
                # The held scan still is the substitute of the last refresh.
                self._substitutions.add(SOURCE_HEIGHT_SCAN)
            return
        self._scan_substituted = scan is None
        if scan is not None:
            np.subtract(scan, self._k_scan_offset, out=self._scan)
            np.maximum(self._scan, self._k_scan_low, out=self._scan)
            np.minimum(self._scan, self._k_scan_high, out=self._scan)
        else:
            self._substitute(
                SOURCE_HEIGHT_SCAN,
                f'flat_ground: every point at {self._config.flat_ground_height} m below the base',
            )
            self._scan.fill(self._flat_ground_scan)

    def _base_velocity(self, lin_vel: np.ndarray | None) -> None:
        """priv_explicit 0:3: base linear velocity (body frame) x 2; 3:9 stay 0 (training)."""
        self._base_velocity_measured = lin_vel is not None
        if lin_vel is not None:
            np.multiply(lin_vel, self._k_lin_vel, out=self._p_lin_vel)
        else:
            self._substitute(
                SOURCE_BASE_VELOCITY, "estimator: left 0 for the policy's estimator to fill"
            )
            self._p_lin_vel.fill(0.0)

    # -- join ---------------------------------------------------------------------------------

    def _join(self) -> None:
        """Copy the blocks and the history into the output once, then clip it."""
        self._out_proprio[...] = self._proprio
        self._out_scan[...] = self._scan
        self._out_priv_explicit[...] = self._priv_explicit
        self._out_priv_latent.fill(0.0)
        self._history.write()
        np.maximum(self._obs, self._k_obs_low, out=self._obs)
        np.minimum(self._obs, self._k_obs_high, out=self._obs)

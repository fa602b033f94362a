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
teacher): ``[proprio | scan | priv_explicit | priv_latent | history]``. Every
term, its source, its scale and what happens when its source is missing is
documented in ``docs/observation.md``; the semantics follow the shared
``parkour-policy.md`` and the training code (Isaac Lab port of extreme
parkour), including the sub-rate refresh of the scan and of the yaw terms,
the contact filter and the history that is filled twice after a reset.

A missing source is never silently zero-filled: per source the
:class:`ObservationConfig` either refuses (the build raises
:class:`MissingInputError` and nothing changes) or substitutes a documented
value, which is flagged in :attr:`ObservationBuilder.substitutions` and
logged (WARNING) the first time after each reset.

The per-step path is allocation-free in the numpy sense: every array is
preallocated and written with ``out=``/``copyto``; the returned vector is
the builder's own buffer (copy it to keep it past the next build).
"""

from __future__ import annotations

import logging
import math

import numpy as np

from krabby_parkour_ros.contract import FILL_RULE_EXTREME_PARKOUR, PolicyContract
from krabby_parkour_ros.hal.messages import HalObservation, JOINT_COUNT
from krabby_parkour_ros.mapping.checks import constant, FiniteCheck, non_finite_indices
from krabby_parkour_ros.mapping.joint_map import JointMap
from krabby_parkour_ros.mapping.navigation import NavigationCommand
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
from krabby_parkour_ros.mapping.rotation import euler_xyz_from_quat_xyzw, wrap_to_pi

_LOG = logging.getLogger(__name__)


#: Proprio slots before the joint terms: ang vel (3), roll, pitch, 0, delta
#: yaw, delta next yaw, 0, 0, vx, two terrain flags.
_PROPRIO_HEAD = 13
_DELTA_YAW = 6
_DELTA_NEXT_YAW = 7
_VX = 10
_TERRAIN = 11
#: Proprio slots zeroed in the history (the two delta yaws).
_HISTORY_MASKED = slice(6, 8)
#: Allowed deviation of the orientation quaternion's norm from 1.
QUATERNION_NORM_TOLERANCE = 0.1
#: Foot contact values above this count as contact (the wire sends 0/1).
CONTACT_THRESHOLD = 0.5


def _non_finite_description(array: np.ndarray) -> str:
    return f'non-finite values at indices {non_finite_indices(array)}'


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
        self._contract = contract
        self._map = joint_map
        self._config = config if config is not None else ObservationConfig()
        joint_map.validate_against(contract)
        self._check_contract(contract)
        n = contract.action_dim
        feet = len(contract.foot_names)
        layout = contract.layout
        self._n = n
        self._period = contract.policy_period
        self._refresh = int(contract.scan_refresh_steps)
        self._history_length = layout.history_length
        self._clip = float(contract.observation_clip)
        self._setup_slices(n, feet)
        self._setup_buffers(contract, joint_map, n, feet)
        self._substitutions: set = set()
        self._warned: set = set()
        self._finite = FiniteCheck()
        self.reset()

    @staticmethod
    def _check_contract(contract: PolicyContract) -> None:
        layout = contract.layout
        n = contract.action_dim
        feet = len(contract.foot_names)
        problems: list[str] = []
        if layout.proprio != _PROPRIO_HEAD + 3 * n + feet:
            problems.append(
                f'layout.proprio: expected {_PROPRIO_HEAD} + 3 * {n} joints + '
                f'{feet} feet = {_PROPRIO_HEAD + 3 * n + feet}, got {layout.proprio}'
            )
        if layout.scan != contract.scan_grid.size:
            problems.append(
                f'layout.scan: expected the scan grid size '
                f'{contract.scan_grid.size}, got {layout.scan}'
            )
        if layout.priv_explicit < 3:
            problems.append(
                f'layout.priv_explicit: expected >= 3 (base velocity), got {layout.priv_explicit}'
            )
        if layout.history_length < 1:
            problems.append(f'layout.history_length: expected >= 1, got {layout.history_length}')
        if contract.history_fill_rule != FILL_RULE_EXTREME_PARKOUR:
            problems.append(
                f'history_fill_rule: expected {FILL_RULE_EXTREME_PARKOUR!r}, got '
                f'{contract.history_fill_rule!r}'
            )
        if int(contract.scan_refresh_steps) < 1:
            problems.append(
                f'scan_refresh_steps: expected >= 1, got {contract.scan_refresh_steps}'
            )
        if len(contract.default_joint_positions) != n:
            problems.append(
                f'default_joint_positions: expected {n} values, got '
                f'{len(contract.default_joint_positions)}'
            )
        if not contract.policy_period > 0.0:
            problems.append(f'policy_period: expected > 0 s, got {contract.policy_period}')
        if problems:
            raise ObservationConfigError(
                f'contract {contract.name!r} does not fit the extreme-parkour observation '
                'builder: ' + '; '.join(problems)
            )

    def _setup_slices(self, n: int, feet: int) -> None:
        head = _PROPRIO_HEAD
        self._s_pos = slice(head, head + n)
        self._s_vel = slice(head + n, head + 2 * n)
        self._s_act = slice(head + 2 * n, head + 3 * n)
        self._s_contact = slice(head + 3 * n, head + 3 * n + feet)
        blocks = self._contract.layout.slices()
        self._blocks = blocks

    def _setup_buffers(
        self, contract: PolicyContract, joint_map: JointMap, n: int, feet: int
    ) -> None:
        layout = contract.layout
        self._obs = np.zeros(layout.total, dtype=np.float32)
        b = self._blocks
        self._out_proprio = self._obs[b['proprio']]
        self._out_scan = self._obs[b['scan']]
        self._out_priv_explicit = self._obs[b['priv_explicit']]
        self._out_priv_latent = self._obs[b['priv_latent']]
        self._out_history = self._obs[b['history']].reshape(layout.history_length, layout.proprio)
        self._proprio = np.zeros(layout.proprio, dtype=np.float64)
        self._p_ang_vel = self._proprio[0:3]
        self._p_pos = self._proprio[self._s_pos]
        self._p_vel = self._proprio[self._s_vel]
        self._p_act = self._proprio[self._s_act]
        self._p_contact = self._proprio[self._s_contact]
        self._scan = np.zeros(layout.scan, dtype=np.float64)
        self._priv_explicit = np.zeros(layout.priv_explicit, dtype=np.float64)
        self._p_lin_vel = self._priv_explicit[0:3]
        # History ring: row ``head`` is the oldest; copy plans per head value
        # write it oldest-first into the output without temporaries.
        self._ring = np.zeros((layout.history_length, layout.proprio), dtype=np.float64)
        self._ring_rows = [self._ring[k] for k in range(layout.history_length)]
        self._ring_rows_masked = [row[_HISTORY_MASKED] for row in self._ring_rows]
        self._ring_masked = self._ring[:, _HISTORY_MASKED]
        self._history_plans = []
        length = layout.history_length
        for k in range(length):
            plan = [(self._out_history[: length - k], self._ring[k:])]
            if k:
                plan.append((self._out_history[length - k :], self._ring[:k]))
            self._history_plans.append(plan)
        self._hw_index = np.array(joint_map.hardware_index, dtype=np.intp)
        self._sign = np.array(joint_map.sign, dtype=np.float64)
        self._offset = np.array(joint_map.offset, dtype=np.float64)
        self._default = np.array(contract.default_joint_positions, dtype=np.float64)
        self._foot_index = np.array(joint_map.policy_foot_index, dtype=np.intp)
        self._hw_feet = len(joint_map.hardware_foot_names)
        self._hw_scratch = np.zeros(JOINT_COUNT, dtype=np.float64)
        self._feet_scratch = np.zeros(self._hw_feet, dtype=np.float64)
        self._policy_feet = np.zeros(feet, dtype=np.float64)
        self._q = np.zeros(n, dtype=np.float64)
        self._qd = np.zeros(n, dtype=np.float64)
        self._fd_prev_q = np.zeros(n, dtype=np.float64)
        self._fd_prev_qd = np.zeros(n, dtype=np.float64)
        self._contact_flags = np.zeros(feet, dtype=bool)
        # Contacts as 0.0 / 1.0 so that OR is a maximum (no casting buffers).
        self._contact_now = np.zeros(feet, dtype=np.float64)
        self._contact_prev = np.zeros(feet, dtype=np.float64)
        self._last_action = np.zeros(n, dtype=np.float64)
        grid = contract.scan_grid
        self._scan_offset = float(grid.offset)
        self._scan_low = float(grid.clip_low)
        self._scan_high = float(grid.clip_high)
        # 0-d operands: a Python scalar costs a temporary array per ufunc call.
        self._k_ang_vel = constant(contract.ang_vel_scale)
        self._k_joint_vel = constant(contract.joint_vel_scale)
        self._k_lin_vel = constant(contract.base_lin_vel_scale)
        self._k_half = constant(0.5)
        self._k_contact = constant(CONTACT_THRESHOLD)
        self._k_scan_offset = constant(self._scan_offset)
        self._k_scan_low = constant(self._scan_low)
        self._k_scan_high = constant(self._scan_high)
        self._k_obs_low = constant(-self._clip, np.float32)
        self._k_obs_high = constant(self._clip, np.float32)
        self._fd_factor = np.zeros((), dtype=np.float64)
        self._proprio_view = self._out_proprio.view()
        self._proprio_view.setflags(write=False)
        self._scan_view = self._out_scan.view()
        self._scan_view.setflags(write=False)

    # -- state -----------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget everything: history, counters, heading, last action, memories."""
        self._step = 0
        self._ring.fill(0.0)
        self._ring_head = 0
        self._scan.fill(0.0)
        self._scan_substituted = False
        self._proprio.fill(0.0)
        self._priv_explicit.fill(0.0)
        self._obs.fill(0.0)
        self._delta_yaw = 0.0
        self._heading_target: float | None = None
        self._yaw_reference = 0.0
        self._last_action.fill(0.0)
        self._contact_prev.fill(0.0)
        self._fd_valid = False
        self._fd_prev_t = 0
        self._fd_prev_q.fill(0.0)
        self._fd_prev_qd.fill(0.0)
        self._base_velocity_measured = False
        self._substitutions.clear()
        self._warned.clear()

    @property
    def contract(self) -> PolicyContract:
        """Return the policy contract."""
        return self._contract

    @property
    def joint_map(self) -> JointMap:
        """Return the joint map."""
        return self._map

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
        return self._heading_target

    @property
    def last_action(self) -> np.ndarray:
        """Return a copy of the action that the next build reports as previous."""
        return self._last_action.copy()

    def record_action(self, action: np.ndarray) -> None:
        """
        Record the action applied this policy step (the next build's proprio 37:49).

        Training recorded the policy's raw output *before* the ±4.8 clip
        (``docs/observation.md``): pass
        :attr:`~krabby_parkour_ros.mapping.action.ActionResult.raw_action` to
        be training-exact; the clipped action differs only where the policy
        saturates.

        :raises ObservationInputError: wrong length or non-finite values.
        """
        array = action if isinstance(action, np.ndarray) else np.asarray(action, np.float64)
        if array.shape != (self._n,):
            raise ObservationInputError('action', f'shape ({self._n},)', f'shape {array.shape}')
        if not self._finite(array):
            raise ObservationInputError('action', 'finite values', _non_finite_description(array))
        np.copyto(self._last_action, array)

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
        sources = self._check_inputs(observation, command)
        self._compute(observation, command, sources)
        return self._obs

    def _check_inputs(self, observation: HalObservation, command: NavigationCommand) -> tuple:
        """Validate everything before any state changes; return the resolved sources."""
        cfg = self._config
        ext = observation.extensions
        q = self._checked(observation.joint_positions, 'joint_positions', JOINT_COUNT)
        orientation = self._checked(ext.imu_orientation_xyzw, SOURCE_ORIENTATION, 4)
        ang_vel = self._checked(ext.imu_angular_velocity, SOURCE_ANGULAR_VELOCITY, 3)
        joint_vel = self._checked(ext.joint_velocities, SOURCE_JOINT_VELOCITIES, JOINT_COUNT)
        lin_vel = self._checked(ext.base_linear_velocity, SOURCE_BASE_VELOCITY, 3)
        contacts = self._checked(ext.foot_contacts, SOURCE_FOOT_CONTACTS, self._hw_feet)
        scan = self._checked(ext.height_scan, SOURCE_HEIGHT_SCAN, self._scan.shape[0])
        if orientation is not None:
            norm = math.sqrt(float(np.dot(orientation, orientation)))
            if abs(norm - 1.0) > QUATERNION_NORM_TOLERANCE:
                raise ObservationInputError(
                    SOURCE_ORIENTATION,
                    f'a unit quaternion (x, y, z, w), norm within '
                    f'{QUATERNION_NORM_TOLERANCE} of 1',
                    f'norm {norm:.6g}',
                )
        if cfg.missing_imu == 'refuse':
            if orientation is None:
                raise MissingInputError(SOURCE_ORIENTATION, 'missing_imu', 'assume_level')
            if ang_vel is None:
                raise MissingInputError(SOURCE_ANGULAR_VELOCITY, 'missing_imu', 'assume_level')
        if joint_vel is None:
            if cfg.missing_joint_velocities == 'refuse':
                raise MissingInputError(
                    SOURCE_JOINT_VELOCITIES, 'missing_joint_velocities', 'finite_difference'
                )
            if self._fd_valid and observation.timestamp_ns < self._fd_prev_t:
                raise ObservationInputError(
                    'timestamp_ns',
                    f'>= the previous timestamp {self._fd_prev_t} '
                    '(joint velocities are finite differences)',
                    str(observation.timestamp_ns),
                )
        if lin_vel is None and cfg.missing_base_velocity == 'refuse':
            raise MissingInputError(SOURCE_BASE_VELOCITY, 'missing_base_velocity', 'estimator')
        if contacts is None and cfg.missing_foot_contacts == 'refuse':
            raise MissingInputError(SOURCE_FOOT_CONTACTS, 'missing_foot_contacts', 'assume_stance')
        # The scan is only read on refresh steps (training's sub-rate).
        if (
            scan is None
            and cfg.missing_height_scan == 'refuse'
            and self._step % self._refresh == 0
        ):
            raise MissingInputError(SOURCE_HEIGHT_SCAN, 'missing_height_scan', 'flat_ground')
        return q, orientation, ang_vel, joint_vel, lin_vel, contacts, scan

    def _checked(self, value: np.ndarray | None, field: str, length: int) -> np.ndarray | None:
        if value is None:
            return None
        array = value if isinstance(value, np.ndarray) else np.asarray(value, np.float64)
        if array.shape != (length,):
            raise ObservationInputError(field, f'shape ({length},)', f'shape {array.shape}')
        if not self._finite(array):
            raise ObservationInputError(field, 'finite values', _non_finite_description(array))
        return array

    def _substitute(self, source: str, what: str) -> None:
        self._substitutions.add(source)
        if source not in self._warned:
            self._warned.add(source)
            _LOG.warning(
                '%s absent: using the substitute (%s); see docs/observation.md', source, what
            )

    def _compute(
        self, observation: HalObservation, command: NavigationCommand, sources: tuple
    ) -> None:
        q, orientation, ang_vel, joint_vel, lin_vel, contacts, scan = sources
        self._substitutions.clear()
        refresh = self._step % self._refresh == 0
        p = self._proprio
        if ang_vel is not None:
            np.multiply(ang_vel, self._k_ang_vel, out=self._p_ang_vel)
        else:
            self._substitute(SOURCE_ANGULAR_VELOCITY, 'assume_level: angular velocity 0')
            self._p_ang_vel.fill(0.0)
        self._orientation_terms(orientation, command, refresh)
        p[8] = 0.0
        p[9] = 0.0
        p[_VX] = command.vx
        p[_TERRAIN] = self._config.terrain_flags[0]
        p[_TERRAIN + 1] = self._config.terrain_flags[1]
        self._joint_terms(observation, q, joint_vel)
        np.copyto(self._p_act, self._last_action)
        self._contact_terms(contacts)
        if refresh:
            self._scan_terms(scan)
        elif self._scan_substituted:
            # The held scan still is the substitute of the last refresh.
            self._substitutions.add(SOURCE_HEIGHT_SCAN)
        self._base_velocity_terms(lin_vel)
        self._write_output()
        self._update_history()
        self._step += 1

    def _orientation_terms(
        self, orientation: np.ndarray | None, command: NavigationCommand, refresh: bool
    ) -> None:
        p = self._proprio
        advance = command.yaw_rate * self._period
        if orientation is None:
            self._substitute(SOURCE_ORIENTATION, 'assume_level: roll = pitch = 0, on heading')
            p[3] = 0.0
            p[4] = 0.0
            if self._heading_target is not None:
                self._heading_target = wrap_to_pi(self._heading_target + advance)
            if refresh:
                # Yaw unknown: assume the robot is on its heading target.
                self._delta_yaw = 0.0
        else:
            x, y, z, w = (
                float(orientation[0]),
                float(orientation[1]),
                float(orientation[2]),
                float(orientation[3]),
            )
            norm = math.sqrt(x * x + y * y + z * z + w * w)
            roll, pitch, yaw = euler_xyz_from_quat_xyzw(x / norm, y / norm, z / norm, w / norm)
            p[3] = roll
            p[4] = pitch
            target = self._heading_target
            if target is None:
                target = yaw
                self._yaw_reference = yaw if self._config.yaw_frame == 'reset' else 0.0
            target = wrap_to_pi(target + advance)
            lead_limit = self._config.max_heading_lead
            if lead_limit is not None:
                lead = wrap_to_pi(target - yaw)
                if abs(lead) > lead_limit:
                    target = wrap_to_pi(yaw + math.copysign(lead_limit, lead))
            self._heading_target = target
            if refresh:
                reference = self._yaw_reference
                if self._config.yaw_frame == 'reset':
                    self._delta_yaw = wrap_to_pi(target - reference) - wrap_to_pi(yaw - reference)
                else:
                    self._delta_yaw = target - yaw
        p[5] = 0.0
        p[_DELTA_YAW] = self._delta_yaw
        # No separate next waypoint at deployment: the next target is the same.
        p[_DELTA_NEXT_YAW] = self._delta_yaw

    def _joint_terms(
        self, observation: HalObservation, q: np.ndarray, joint_vel: np.ndarray | None
    ) -> None:
        np.copyto(self._hw_scratch, q)
        # mode='clip': indices were validated by the joint map; 'raise' buffers.
        np.take(self._hw_scratch, self._hw_index, out=self._q, mode='clip')
        np.multiply(self._q, self._sign, out=self._q)
        np.add(self._q, self._offset, out=self._q)
        np.subtract(self._q, self._default, out=self._p_pos)
        t = observation.timestamp_ns
        if joint_vel is not None:
            np.copyto(self._hw_scratch, joint_vel)
            np.take(self._hw_scratch, self._hw_index, out=self._qd, mode='clip')
            np.multiply(self._qd, self._sign, out=self._qd)
        else:
            self._substitute(
                SOURCE_JOINT_VELOCITIES, 'finite difference of joint positions over HAL timestamps'
            )
            if not self._fd_valid:
                self._qd.fill(0.0)
            elif t > self._fd_prev_t:
                np.subtract(self._q, self._fd_prev_q, out=self._qd)
                self._fd_factor.fill(1e9 / (t - self._fd_prev_t))
                np.multiply(self._qd, self._fd_factor, out=self._qd)
            else:
                # The same observation again: keep the previous estimate.
                np.copyto(self._qd, self._fd_prev_qd)
        np.multiply(self._qd, self._k_joint_vel, out=self._p_vel)
        np.copyto(self._fd_prev_q, self._q)
        np.copyto(self._fd_prev_qd, self._qd)
        self._fd_prev_t = t
        self._fd_valid = True

    def _contact_terms(self, contacts: np.ndarray | None) -> None:
        if contacts is not None:
            np.copyto(self._feet_scratch, contacts)
            np.take(self._feet_scratch, self._foot_index, out=self._policy_feet, mode='clip')
            np.greater(self._policy_feet, self._k_contact, out=self._contact_flags)
            np.copyto(self._contact_now, self._contact_flags)
        else:
            self._substitute(SOURCE_FOOT_CONTACTS, 'assume_stance: every foot in contact')
            self._contact_now.fill(1.0)
        # Current OR previous sample, then minus 0.5.
        np.maximum(self._contact_now, self._contact_prev, out=self._p_contact)
        np.subtract(self._p_contact, self._k_half, out=self._p_contact)
        np.copyto(self._contact_prev, self._contact_now)

    def _scan_terms(self, scan: np.ndarray | None) -> None:
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
            value = min(
                max(self._config.flat_ground_height - self._scan_offset, self._scan_low),
                self._scan_high,
            )
            self._scan.fill(value)

    def _base_velocity_terms(self, lin_vel: np.ndarray | None) -> None:
        # priv_explicit 3:9 stay 0 (training writes zeros there).
        if lin_vel is not None:
            np.multiply(lin_vel, self._k_lin_vel, out=self._p_lin_vel)
            self._base_velocity_measured = True
        else:
            self._substitute(
                SOURCE_BASE_VELOCITY, "estimator: left 0 for the policy's estimator to fill"
            )
            self._p_lin_vel.fill(0.0)
            self._base_velocity_measured = False

    def _write_output(self) -> None:
        np.copyto(self._out_proprio, self._proprio)
        np.copyto(self._out_scan, self._scan)
        np.copyto(self._out_priv_explicit, self._priv_explicit)
        self._out_priv_latent.fill(0.0)
        for destination, source in self._history_plans[self._ring_head]:
            np.copyto(destination, source)
        np.maximum(self._obs, self._k_obs_low, out=self._obs)
        np.minimum(self._obs, self._k_obs_high, out=self._obs)

    def _update_history(self) -> None:
        # Training: after the build, if the episode step is <= 1 fill every
        # slot with the current proprio, else shift by one. Delta yaws are
        # masked in the history.
        if self._step <= 1:
            np.copyto(self._ring, self._proprio)
            self._ring_masked.fill(0.0)
            self._ring_head = 0
        else:
            np.copyto(self._ring_rows[self._ring_head], self._proprio)
            self._ring_rows_masked[self._ring_head].fill(0.0)
            self._ring_head = (self._ring_head + 1) % self._history_length

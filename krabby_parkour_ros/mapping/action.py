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
Map a raw policy action to 18 safe hardware joint targets.

Steps (``docs/observation.md``, "Actions"), all in preallocated buffers:

1. refuse a non-finite raw action: no command is produced from it (the
   result's ``command`` is None, ``refusal`` is
   :attr:`MappingRefusal.NON_FINITE_ACTION` and ``detail`` names the joints);
2. clip the raw action to +-``contract.action_clip`` (training: 4.8);
3. ``target = default_pos + contract.action_scale * clipped`` (policy order);
4. to hardware order: ``q_hw = sign * (target - offset)``; hardware joints
   that no policy joint drives get ``joint_map.hold_position``;
5. clamp to the joint map's target limits (each clamp counted per joint:
   training clamped no target, so every clamp departs from it);
6. optionally limit the change relative to ``previous_command``, the
   command the caller last sent (``max_delta_per_step``), then clamp to the
   target limits again;
7. a final finiteness check (:attr:`MappingRefusal.NON_FINITE_TARGET`).

Every command this mapper returns is finite, float32, inside the target
limits, and (with a rate limit) within ``max_delta_per_step`` of the
``previous_command`` it was given. The mapper keeps no last command: the
control step (:mod:`krabby_parkour_ros.control.step`) owns the last safe
target, holds it when a step is refused, and passes it in. Its only state
is the preallocated buffers and the per-joint clamp and rate-limit counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import enum
import logging
import math

import numpy as np

from krabby_parkour_ros.contract import PolicyContract
from krabby_parkour_ros.finite import all_finite
from krabby_parkour_ros.hal.messages import JOINT_COUNT
from krabby_parkour_ros.mapping.checks import constant, non_finite_indices
from krabby_parkour_ros.mapping.joint_map import JointMap

_LOG = logging.getLogger(__name__)


class MappingRefusal(str, enum.Enum):
    """Why :meth:`ActionMapper.map` produced no command."""

    #: The raw policy action holds NaN or +-Inf.
    NON_FINITE_ACTION = 'non_finite_action'
    #: A hardware target came out non-finite (e.g. a non-finite previous
    #: command under a rate limit).
    NON_FINITE_TARGET = 'non_finite_target'


#: Largest rate limit (rad per policy step) :class:`ActionMapperConfig` takes;
#: the node's ``max_joint_delta`` range is ``[0, MAX_DELTA_PER_STEP_MAX]``
#: (0 there means None: no limit).
MAX_DELTA_PER_STEP_MAX = 1.0


class ActionMappingError(ValueError):
    """A mapper input has the wrong shape, or a setting is invalid."""


@dataclass(frozen=True)
class ActionMapperConfig:
    """
    Safety settings of the action mapper.

    :param max_delta_per_step: largest change (rad) of any hardware target
        between two :meth:`ActionMapper.map` calls (one per policy step);
        None disables the rate limit. Training had no such limit: a limit
        that bites changes the policy's behaviour, so size it above what the
        gait needs (0.25 * 4.8 * 2 = 2.4 rad is the largest jump a policy
        step can ask for).
    """

    max_delta_per_step: float | None = None

    def __post_init__(self) -> None:
        """Validate the settings."""
        value = self.max_delta_per_step
        if value is None:
            return
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not (math.isfinite(value) and 0.0 < value <= MAX_DELTA_PER_STEP_MAX)
        ):
            raise ActionMappingError(
                f'max_delta_per_step: expected None or a number in (0, '
                f'{MAX_DELTA_PER_STEP_MAX}] rad, got {value!r}'
            )


@dataclass(frozen=True)
class ActionResult:
    """
    The outcome of one :meth:`ActionMapper.map` call.

    The arrays are read-only views of the mapper's buffers, valid until the
    next call (copy them to keep them).

    :ivar command: (18,) float32 hardware targets to send; None when the
        action was refused (the caller holds its last safe target).
    :ivar clipped_action: (n,) the raw action clipped to +-action_clip,
        policy order.
    :ivar raw_action: (n,) the finite raw action before clipping: what the
        training observation recorded as the previous action
        (:meth:`~krabby_parkour_ros.mapping.observation.ObservationBuilder.record_action`).
        Both action arrays are meaningful only when ``ok`` is True (a refused
        action is not applied, so it must not be recorded).
    :ivar refusal: why no command was produced; None when one was.
    :ivar detail: the refusal for people (which joints); empty when none.
    :ivar target_limited: True when the target limits changed a target.
    :ivar rate_limited: True when the rate limit changed a target.
    """

    command: np.ndarray | None
    clipped_action: np.ndarray
    raw_action: np.ndarray
    refusal: MappingRefusal | None = None
    detail: str = ''
    target_limited: bool = False
    rate_limited: bool = False

    @property
    def ok(self) -> bool:
        """Return True when a command was produced."""
        return self.refusal is None

    @property
    def limited(self) -> bool:
        """Return True when the target limits or the rate limit changed a target."""
        return self.target_limited or self.rate_limited


def _readonly_view(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.setflags(write=False)
    return view


class ActionMapper:
    """
    Raw policy action -> (18,) hardware joint targets, safely.

    :param contract: the policy's training contract (default pose, scale, clip).
    :param joint_map: the wire mapping; validated against the contract here.
    :param config: safety settings (default: no rate limit).
    """

    def __init__(
        self,
        contract: PolicyContract,
        joint_map: JointMap,
        config: ActionMapperConfig | None = None,
    ) -> None:
        joint_map.validate_against(contract)
        self._contract = contract
        self._map = joint_map
        self._config = config if config is not None else ActionMapperConfig()
        n = contract.action_dim
        self._n = n
        self._clip = float(contract.action_clip)
        self._scale = float(contract.action_scale)
        self._default = np.array(contract.default_joint_positions, dtype=np.float64)
        self._hw_index = np.array(joint_map.hardware_index, dtype=np.intp)
        self._sign = np.array(joint_map.sign, dtype=np.float64)
        self._offset = np.array(joint_map.offset, dtype=np.float64)
        self._lower = np.array(joint_map.target_lower, dtype=np.float64)
        self._upper = np.array(joint_map.target_upper, dtype=np.float64)
        # Per hardware joint: policy steps whose target was clamped to the
        # target limits, and steps whose change was rate limited.
        self._clamp_counts = np.zeros(JOINT_COUNT, dtype=np.int64)
        self._rate_counts = np.zeros(JOINT_COUNT, dtype=np.int64)
        self._hold = np.array(joint_map.hold_position, dtype=np.float64)
        self._raw = np.zeros(n, dtype=np.float64)
        self._clipped = np.zeros(n, dtype=np.float64)
        self._policy_target = np.zeros(n, dtype=np.float64)
        self._target = np.zeros(JOINT_COUNT, dtype=np.float64)
        self._before = np.zeros(JOINT_COUNT, dtype=np.float64)
        self._delta = np.zeros(JOINT_COUNT, dtype=np.float64)
        self._changed = np.zeros(JOINT_COUNT, dtype=bool)
        self._command = np.zeros(JOINT_COUNT, dtype=np.float32)
        # 0-d operands: a Python scalar costs a temporary array per ufunc call.
        self._k_clip_low = constant(-self._clip)
        self._k_clip_high = constant(self._clip)
        self._k_scale = constant(self._scale)
        limit = self._config.max_delta_per_step
        self._k_rate_low = constant(-limit if limit is not None else 0.0)
        self._k_rate_high = constant(limit if limit is not None else 0.0)
        self._default_command = self._compute_default_command()
        self._views = (
            _readonly_view(self._command),
            _readonly_view(self._clipped),
            _readonly_view(self._raw),
        )
        command, clipped, raw = self._views
        # Results are reused: map() allocates nothing on the good path.
        self._results = {
            (target, rate): ActionResult(
                command, clipped, raw, target_limited=target, rate_limited=rate
            )
            for target in (False, True)
            for rate in (False, True)
        }

    def _compute_default_command(self) -> np.ndarray:
        target = np.array(self._hold, dtype=np.float64)
        target[self._hw_index] = self._sign * (self._default - self._offset)
        np.clip(target, self._lower, self._upper, out=target)
        out = target.astype(np.float32)
        out.setflags(write=False)
        return out

    # -- state -----------------------------------------------------------------------------

    @property
    def contract(self) -> PolicyContract:
        """Return the policy contract."""
        return self._contract

    @property
    def joint_map(self) -> JointMap:
        """Return the joint map."""
        return self._map

    @property
    def config(self) -> ActionMapperConfig:
        """Return the safety settings."""
        return self._config

    def clamp_counts(self) -> dict[str, int]:
        """Return, per hardware joint name, the policy steps clamped to its target limits."""
        names = self._map.hardware_joint_names
        return {names[i]: int(n) for i, n in enumerate(self._clamp_counts) if n}

    def rate_limit_counts(self) -> dict[str, int]:
        """Return, per hardware joint name, the policy steps whose change was rate limited."""
        names = self._map.hardware_joint_names
        return {names[i]: int(n) for i, n in enumerate(self._rate_counts) if n}

    def default_command(self) -> np.ndarray:
        """Return (a copy of) the default pose in hardware order, for the soft start."""
        return self._default_command.copy()

    def reset(self) -> None:
        """Clear the action buffers (the counts are kept; there is no command state)."""
        self._raw.fill(0.0)
        self._clipped.fill(0.0)
        self._command.fill(0.0)

    # -- map -------------------------------------------------------------------------------

    def map(  # noqa: A003 (API name)
        self, raw_action: np.ndarray, previous_command: np.ndarray
    ) -> ActionResult:
        """
        Map one raw policy action to hardware targets.

        :param raw_action: (n,) or (1, n) policy output, policy order.
        :param previous_command: (18,) the command the caller last sent (or
            holds): the rate limit's reference. Unused without a rate limit.
        :return: the result; ``command`` None (with ``refusal`` and
            ``detail``) when the action or a target is not finite.
        :raises ActionMappingError: wrong shape (a wiring bug, not a fault).
        """
        action = (
            raw_action
            if isinstance(raw_action, np.ndarray)
            else np.asarray(raw_action, dtype=np.float64)
        )
        if action.shape == (1, self._n):
            action = action[0]
        if action.shape != (self._n,):
            raise ActionMappingError(
                f'raw_action: expected shape ({self._n},) or (1, {self._n}), got {action.shape}'
            )
        previous = (
            previous_command
            if isinstance(previous_command, np.ndarray)
            else np.asarray(previous_command, dtype=np.float64)
        )
        if previous.shape != (JOINT_COUNT,):
            raise ActionMappingError(
                f'previous_command: expected shape ({JOINT_COUNT},), got {previous.shape}'
            )
        if not all_finite(action):
            return self._refuse(
                MappingRefusal.NON_FINITE_ACTION,
                f'raw action non-finite at {self._names(action, self._map.policy_joint_names)}',
            )
        self._raw[...] = action
        np.maximum(self._raw, self._k_clip_low, out=self._clipped)
        np.minimum(self._clipped, self._k_clip_high, out=self._clipped)
        np.multiply(self._clipped, self._k_scale, out=self._policy_target)
        np.add(self._policy_target, self._default, out=self._policy_target)
        # q_hw = sign * (q_policy - offset); 1 / sign == sign for +-1.
        np.subtract(self._policy_target, self._offset, out=self._policy_target)
        np.multiply(self._policy_target, self._sign, out=self._policy_target)
        self._target[...] = self._hold
        # mode='clip': indices were validated by the joint map; 'raise' buffers.
        np.put(self._target, self._hw_index, self._policy_target, mode='clip')
        self._before[...] = self._target
        self._clamp_to_target_limits()
        np.not_equal(self._before, self._target, out=self._changed)
        target_limited = int(np.count_nonzero(self._changed)) > 0
        if target_limited:
            self._clamp_counts += self._changed
        rate_limited = False
        if self._config.max_delta_per_step is not None:
            np.subtract(self._target, previous, out=self._delta)
            if not all_finite(self._delta):
                return self._refuse(
                    MappingRefusal.NON_FINITE_TARGET,
                    f'previous_command non-finite at {self._hardware_names(self._delta)}',
                )
            self._before[...] = self._delta
            np.maximum(self._delta, self._k_rate_low, out=self._delta)
            np.minimum(self._delta, self._k_rate_high, out=self._delta)
            np.not_equal(self._before, self._delta, out=self._changed)
            rate_limited = int(np.count_nonzero(self._changed)) > 0
            if rate_limited:
                self._rate_counts += self._changed
            np.add(previous, self._delta, out=self._target)
            self._clamp_to_target_limits()
        if not all_finite(self._target):
            return self._refuse(
                MappingRefusal.NON_FINITE_TARGET,
                f'hardware target non-finite at {self._hardware_names(self._target)}',
            )
        self._command[...] = self._target
        return self._results[(target_limited, rate_limited)]

    def _clamp_to_target_limits(self) -> None:
        np.maximum(self._target, self._lower, out=self._target)
        np.minimum(self._target, self._upper, out=self._target)

    def _hardware_names(self, values: np.ndarray) -> list[str]:
        return self._names(values, self._map.hardware_joint_names)

    @staticmethod
    def _names(values: np.ndarray, labels: Sequence[str]) -> list[str]:
        return [labels[i] for i in non_finite_indices(values)]

    def _refuse(self, refusal: MappingRefusal, detail: str) -> ActionResult:
        _LOG.error('action mapping refused (%s): %s', refusal.value, detail)
        _, clipped, raw = self._views
        return ActionResult(None, clipped, raw, refusal=refusal, detail=detail)

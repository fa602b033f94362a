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
The last line before the wire: every joint command finite and inside its limits.

:class:`CommandGuard` runs inside
:meth:`~krabby_parkour_ros.hal.client.HalClient.put_joint_command`, whatever
the code above it did (ramps, holds, the policy, a deactivate). It refuses a
command of the wrong size or with a non-finite value (nothing is sent) and
clamps every value into the configured target limits, counting each clamp per
joint. The layers above already keep their targets inside the limits, so a
clamp here means one of them has a bug: the counts are on ``/diagnostics``
(``wire_clamps``) and should stay zero.

The clamp is done on the float32 values that go on the wire: a limit that is
not exactly representable as float32 is rounded *inwards*, so a decoder that
compares the sent float32 with the limit as written never sees it exceeded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import threading
from typing import Any

import numpy as np

from krabby_parkour_ros.hal.errors import CommandError
from krabby_parkour_ros.hal.messages import JOINT_COUNT


#: Float64 magnitudes below this cast to a finite float32; from it up, to inf
#: (halfway between the largest float32 and 2**128 rounds to even: up).
_CASTS_FINITE = 2.0**128 - 2.0**103
# The ufunc reductions themselves: np.clip, np.all and ndarray.min go through Python
# wrappers, each costing tens of microseconds on the cold caches of a 100 Hz tick.
_smallest = np.minimum.reduce
_largest = np.maximum.reduce


@dataclass(frozen=True, eq=False)
class CommandLimits:
    """
    Target limits of the 18 wire joints (radians, wire order).

    :param lower: (18,) smallest target each joint may be sent.
    :param upper: (18,) largest target each joint may be sent.
    :param joint_names: the 18 wire joint names (for counts and messages).
    """

    lower: np.ndarray
    upper: np.ndarray
    joint_names: tuple[str, ...]

    def __post_init__(self) -> None:
        """Validate the limits and freeze the arrays."""
        lower = np.array(self.lower, dtype=np.float64).reshape(-1)
        upper = np.array(self.upper, dtype=np.float64).reshape(-1)
        names = tuple(str(n) for n in self.joint_names)
        if (
            lower.shape != (JOINT_COUNT,)
            or upper.shape != (JOINT_COUNT,)
            or len(names) != JOINT_COUNT
        ):
            raise CommandError(
                f'command limits: expected {JOINT_COUNT} lower, upper and '
                f'names, got {lower.shape}, {upper.shape}, {len(names)}'
            )
        if not (np.all(np.isfinite(lower)) and np.all(np.isfinite(upper))):
            raise CommandError('command limits: expected finite values')
        bad = np.flatnonzero(lower > upper)
        if bad.size:
            raise CommandError(f'command limits: lower > upper at {[names[i] for i in bad]}')
        lower.setflags(write=False)
        upper.setflags(write=False)
        object.__setattr__(self, 'lower', lower)
        object.__setattr__(self, 'upper', upper)
        object.__setattr__(self, 'joint_names', names)

    @classmethod
    def from_joint_map(cls, joint_map: Any) -> CommandLimits:
        """Return the target limits of a joint map (``mapping.joint_map.JointMap``)."""
        return cls(joint_map.target_lower, joint_map.target_upper, joint_map.hardware_joint_names)


def _float32_inwards(lower: np.ndarray, upper: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    low32 = lower.astype(np.float32)
    high32 = upper.astype(np.float32)
    below = low32.astype(np.float64) < lower
    low32[below] = np.nextafter(low32[below], np.float32(np.inf))
    above = high32.astype(np.float64) > upper
    high32[above] = np.nextafter(high32[above], np.float32(-np.inf))
    return low32, high32


class CommandGuard:
    """
    Check and clamp joint commands just before they are encoded.

    :param limits: the target limits; None enforces only size and
        finiteness (a bare HAL client without a joint map, e.g. a test tool).
    """

    def __init__(self, limits: CommandLimits | None = None) -> None:
        self._limits = limits
        self._lock = threading.Lock()
        self._clamps = np.zeros(JOINT_COUNT, dtype=np.int64)
        self._clamped_commands = 0
        self._refused = 0
        if limits is not None:
            self._low32, self._high32 = _float32_inwards(limits.lower, limits.upper)
            self._names: Sequence[str] = limits.joint_names
        else:
            self._low32 = np.full(JOINT_COUNT, -np.inf, dtype=np.float32)
            self._high32 = np.full(JOINT_COUNT, np.inf, dtype=np.float32)
            self._names = tuple(f'slot_{i}' for i in range(JOINT_COUNT))

    @property
    def limits(self) -> CommandLimits | None:
        """Return the enforced target limits; None when only finiteness is checked."""
        return self._limits

    def enforce(self, joint_positions: Any) -> np.ndarray:
        """
        Return the (18,) float32 command to send: checked, clamped, counted.

        :raises CommandError: wrong size, not numeric, or non-finite (before
            or after the float32 cast); nothing may be sent then.
        """
        try:
            values = np.asarray(joint_positions, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as exc:
            self._count_refused()
            raise CommandError(
                f'joint command: expected {JOINT_COUNT} numbers, got '
                f'{type(joint_positions).__name__} ({exc})'
            ) from None
        if values.shape != (JOINT_COUNT,):
            self._count_refused()
            raise CommandError(
                f'joint command: expected {JOINT_COUNT} values, got {values.shape[0]}'
            )
        # NaN fails both comparisons; a magnitude from the threshold up casts to inf.
        if not (-_CASTS_FINITE < _smallest(values) and _largest(values) < _CASTS_FINITE):
            self._count_refused()
            fits = np.abs(values) < _CASTS_FINITE
            bad = [self._names[int(i)] for i in np.flatnonzero(~fits)]
            raise CommandError(
                f'joint command: non-finite (or beyond float32) at {bad}: refused, nothing sent'
            )
        command = values.astype(np.float32)
        if self._limits is None:
            return command
        clamped = np.minimum(np.maximum(command, self._low32), self._high32)
        # Identical bytes: nothing was clamped (the common case, decided without a ufunc).
        if clamped.tobytes() != command.tobytes():
            changed = clamped != command
            if changed.any():
                with self._lock:
                    self._clamps += changed
                    self._clamped_commands += 1
        return clamped

    def _count_refused(self) -> None:
        with self._lock:
            self._refused += 1

    def clamp_counts(self) -> dict[str, int]:
        """Return the number of commands clamped, per joint name (non-zero only)."""
        with self._lock:
            return {self._names[i]: int(n) for i, n in enumerate(self._clamps) if n}

    def stats(self) -> dict[str, Any]:
        """Return the counters: clamped and refused commands, clamps per joint."""
        with self._lock:
            return {
                'wire_clamped_commands': self._clamped_commands,
                'wire_refused_commands': self._refused,
                'wire_clamps': {self._names[i]: int(n) for i, n in enumerate(self._clamps) if n},
            }

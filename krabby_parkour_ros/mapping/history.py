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
The proprio history block of the observation (10 x 53 floats for the Go2 teacher).

The previous proprio vectors, oldest first, each stored with the delta yaws
masked to 0, updated *after* the build with training's rule: at episode
steps 0 and 1 every slot is filled with the current proprio, later the
history shifts by one (so it fills twice; ``docs/observation.md``,
"History"). A ring buffer with one precomputed copy plan per ring position
writes it oldest-first into the output without temporaries.
"""

from __future__ import annotations

import numpy as np

#: Proprio slots zeroed in the history (the two delta yaws).
MASKED = slice(6, 8)


class ProprioHistory:
    """
    History ring of ``length`` proprio vectors, written into ``out``.

    :param out: the history block of the observation, ``(length * proprio,)``.
    :param length: the number of history slots.
    :param proprio: the proprio size.
    """

    def __init__(self, out: np.ndarray, length: int, proprio: int) -> None:
        rows = out.reshape(length, proprio)
        self._length = length
        # Row ``head`` of the ring is the oldest.
        self._ring = np.zeros((length, proprio), dtype=np.float64)
        self._ring_masked = self._ring[:, MASKED]
        self._rows = [self._ring[k] for k in range(length)]
        self._rows_masked = [row[MASKED] for row in self._rows]
        self._plans: list[list[tuple[np.ndarray, np.ndarray]]] = []
        for k in range(length):
            plan = [(rows[: length - k], self._ring[k:])]
            if k:
                plan.append((rows[length - k :], self._ring[:k]))
            self._plans.append(plan)
        self.reset()

    def reset(self) -> None:
        """Forget every slot (the history reads 0 until the first update)."""
        self._ring.fill(0.0)
        self._head = 0

    def write(self) -> None:
        """Copy the history, oldest first, into the output block."""
        for destination, source in self._plans[self._head]:
            destination[...] = source

    def update(self, proprio: np.ndarray, step: int) -> None:
        """Store the proprio of episode step ``step`` (call after the build)."""
        if step <= 1:
            self._ring[...] = proprio
            self._ring_masked.fill(0.0)
            self._head = 0
        else:
            self._rows[self._head][...] = proprio
            self._rows_masked[self._head].fill(0.0)
            self._head = (self._head + 1) % self._length

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

"""Allocation-free rolling statistics for latencies and tick periods."""

from __future__ import annotations


import numpy as np


class RollingSamples:
    """
    A fixed-size ring of float samples with percentile summaries.

    Adding a sample never allocates; summaries copy the window once.
    """

    def __init__(self, capacity: int = 4096) -> None:
        if capacity < 1:
            raise ValueError(f'capacity must be >= 1, got {capacity}')
        self._buffer = np.zeros(capacity, dtype=np.float64)
        self._next = 0
        self._count = 0
        self.total_count = 0
        self.maximum = 0.0

    def add(self, value: float) -> None:
        """Record one sample."""
        self._buffer[self._next] = value
        self._next = (self._next + 1) % self._buffer.shape[0]
        if self._count < self._buffer.shape[0]:
            self._count += 1
        self.total_count += 1
        if value > self.maximum:
            self.maximum = value

    def __len__(self) -> int:
        """Return the number of samples in the window."""
        return self._count

    def clear(self) -> None:
        """Forget every sample."""
        self._next = 0
        self._count = 0
        self.total_count = 0
        self.maximum = 0.0

    def recent(self, count: int) -> np.ndarray:
        """
        Return a copy of the newest ``count`` samples, oldest first.

        Fewer when the window holds fewer; for statistics over the samples
        added since a moment (``total_count`` then versus now).
        """
        count = min(max(int(count), 0), self._count)
        start = self._next - count
        if start >= 0:
            return self._buffer[start : self._next].copy()
        return np.concatenate((self._buffer[start:], self._buffer[: self._next]))

    def percentile(self, q: float) -> float:
        """Return the q-th percentile of the window (NaN when empty)."""
        if self._count == 0:
            return float('nan')
        return float(np.percentile(self._buffer[: self._count], q))

    def summary(self) -> dict[str, float]:
        """Return count, p50, p99, window max and all-time max."""
        if self._count == 0:
            return {
                'count': 0,
                'p50': float('nan'),
                'p99': float('nan'),
                'max': float('nan'),
                'max_all_time': self.maximum,
            }
        window = self._buffer[: self._count]
        p50, p99 = np.percentile(window, (50.0, 99.0))
        return {
            'count': int(self.total_count),
            'p50': float(p50),
            'p99': float(p99),
            'max': float(window.max()),
            'max_all_time': float(self.maximum),
        }

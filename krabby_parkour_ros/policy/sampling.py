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
Random but physically plausible parkour observations (parity checks, benchmarks).

Uniform noise over the whole vector drives a trained policy far outside
what it has seen and inflates float32 differences between runtimes; these
samples keep every block in the range a walking robot produces (see the
observation table of ``parkour-policy.md``): small body rates, tilts within
0.3 rad, a forward command of 0.3-0.8 m/s, joint offsets within 0.4 rad,
clipped previous actions, 0/1 contacts minus 0.5, a height scan around the
standing height, a base velocity (x 2.0) in ``priv_explicit[0:3]`` with
six zeros after it, zero ``priv_latent`` and a history of similar proprio
vectors whose yaw slots 6:8 are zero.
"""

from __future__ import annotations

import numpy as np

from krabby_parkour_ros.contract import ObservationLayout


def plausible_proprio(
    rng: np.random.Generator, count: int, layout: ObservationLayout = ObservationLayout()
) -> np.ndarray:
    """Return ``count`` plausible proprio vectors, float32 ``[count, layout.proprio]``."""
    if layout.proprio != 53:
        raise ValueError(
            'plausible_proprio: proprio size must be 53 (the extreme-parkour layout), got'
            f' {int(layout.proprio)}'
        )
    prop = np.zeros((count, 53), dtype=np.float32)
    prop[:, 0:3] = rng.normal(0.0, 0.8, (count, 3)) * 0.25
    prop[:, 3:5] = rng.uniform(-0.3, 0.3, (count, 2))
    prop[:, 6:8] = rng.uniform(-0.8, 0.8, (count, 2))
    prop[:, 10] = rng.uniform(0.3, 0.8, count)
    walk = rng.random(count) < 0.3
    prop[:, 11] = np.where(walk, 0.0, 1.0)
    prop[:, 12] = np.where(walk, 1.0, 0.0)
    prop[:, 13:25] = rng.uniform(-0.4, 0.4, (count, 12))
    prop[:, 25:37] = rng.normal(0.0, 4.0, (count, 12)) * 0.05
    prop[:, 37:49] = np.clip(rng.normal(0.0, 1.2, (count, 12)), -4.8, 4.8)
    prop[:, 49:53] = (rng.random((count, 4)) < 0.6).astype(np.float32) - 0.5
    return prop


def plausible_observations(
    count: int, seed: int = 0, layout: ObservationLayout = ObservationLayout()
) -> np.ndarray:
    """
    Return ``count`` plausible observations, float32 ``[count, layout.total]``.

    Deterministic for a given ``seed``.
    """
    rng = np.random.default_rng(seed)
    slices = layout.slices()
    obs = np.zeros((count, layout.total), dtype=np.float32)
    obs[:, slices['proprio']] = plausible_proprio(rng, count, layout)
    # Standing height ~0.3 m above the scan offset, with steps and boxes.
    ground = rng.normal(0.0, 0.05, (count, layout.scan))
    steps = rng.random((count, 1)) < 0.4
    ground += np.where(steps, rng.uniform(-0.5, 0.3, (count, 1)), 0.0) * (
        np.arange(layout.scan) % 12 > rng.integers(3, 11, (count, 1))
    )
    obs[:, slices['scan']] = np.clip(ground, -1.0, 1.0)
    explicit = slices['priv_explicit']
    obs[:, explicit.start] = rng.uniform(-0.2, 1.0, count) * 2.0
    obs[:, explicit.start + 1 : explicit.start + 3] = rng.normal(0.0, 0.15, (count, 2)) * 2.0
    history = plausible_proprio(rng, count * layout.history_length, layout)
    history[:, 6:8] = 0.0
    obs[:, slices['history']] = history.reshape(count, layout.history)
    return obs

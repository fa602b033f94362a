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
The gate matrix: terrain x difficulty x perturbation x seed, and its presets.

A terrain that does not use the difficulty (``flat``) runs once per seed,
at the first difficulty of the matrix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from krabby_parkour_ros.gate.episode import EpisodeSpec
from krabby_parkour_ros.gate.perturbations import FAULTS, PERTURBATIONS
from krabby_parkour_ros.gate.terrains import TERRAINS

#: Difficulty levels of the default matrix (training spreads 10 rows over [0, 1]).
DEFAULT_DIFFICULTIES = (0.0, 0.25, 0.5, 0.75, 1.0)


class MatrixError(ValueError):
    """A matrix names an unknown terrain or perturbation, or is empty."""


@dataclass(frozen=True)
class Matrix:
    """
    Which episodes to run.

    :param terrains: terrain family names.
    :param difficulties: difficulty levels in [0, 1].
    :param perturbations: perturbation names (faults included if listed).
    :param seeds: seeds; each cell runs once per seed.
    """

    terrains: tuple[str, ...]
    difficulties: tuple[float, ...]
    perturbations: tuple[str, ...]
    seeds: tuple[int, ...]

    def __post_init__(self) -> None:
        """Check every name and that no axis is empty."""
        for axis in ('terrains', 'difficulties', 'perturbations', 'seeds'):
            if len(getattr(self, axis)) == 0:
                raise MatrixError(f'{axis}: expected at least one value, got none')
        unknown = [t for t in self.terrains if t not in TERRAINS]
        if unknown:
            raise MatrixError(f'terrains: expected names from {sorted(TERRAINS)}, got {unknown}')
        unknown = [p for p in self.perturbations if p not in PERTURBATIONS]
        if unknown:
            raise MatrixError(
                f'perturbations: expected names from {sorted(PERTURBATIONS)}, got {unknown}'
            )
        bad = [d for d in self.difficulties if not 0.0 <= float(d) <= 1.0]
        if bad:
            raise MatrixError(f'difficulties: expected numbers in [0, 1], got {bad}')

    def cells(self) -> list[tuple[str, float, str]]:
        """Return every (terrain, difficulty, perturbation) that runs."""
        out = []
        for terrain in self.terrains:
            levels = (
                self.difficulties if TERRAINS[terrain].uses_difficulty else self.difficulties[:1]
            )
            for difficulty in levels:
                for perturbation in self.perturbations:
                    out.append((terrain, float(difficulty), perturbation))
        return out

    def specs(self, template: EpisodeSpec) -> list[EpisodeSpec]:
        """Return one :class:`EpisodeSpec` per cell and seed, the rest from ``template``."""
        return [
            replace(template, terrain=t, difficulty=d, perturbation=p, seed=int(s))
            for t, d, p in self.cells()
            for s in self.seeds
        ]

    def as_dict(self) -> dict[str, Any]:
        """Return the matrix as JSON-ready lists."""
        return {k: list(v) for k, v in asdict(self).items()}


def _perturbations(include_faults: bool) -> tuple[str, ...]:
    return tuple(p for p in PERTURBATIONS if include_faults or p not in FAULTS)


#: Named matrices (``--preset``).
PRESETS: dict[str, Matrix] = {
    # CI: a few terrains, one difficulty, a perturbation and a fault; seconds per episode.
    'smoke': Matrix(('flat', 'gap', 'box'), (0.5,), ('nominal', 'latency'), (0,)),
    # Every terrain at every level without perturbation, three seeds.
    'nominal': Matrix(tuple(TERRAINS), DEFAULT_DIFFICULTIES, ('nominal',), (0, 1, 2)),
    # The full gate: every terrain, level, perturbation and fault, one seed (738 episodes).
    'full': Matrix(tuple(TERRAINS), DEFAULT_DIFFICULTIES, _perturbations(True), (0,)),
    # Wrong deployments against the correct one (sensitivity).
    'faults': Matrix(tuple(TERRAINS), (0.0, 0.5, 1.0), ('nominal',) + FAULTS, (0, 1)),
    # A small matrix for timing the backends.
    'timing': Matrix(
        ('flat', 'gap', 'hurdle', 'box'), (0.0, 0.5, 1.0), ('nominal', 'obs_noise'), (0,)
    ),
}


def parse_list(text: str, kind: type = str) -> tuple[Any, ...]:
    """Return the comma-separated values of ``text`` converted by ``kind``."""
    return tuple(kind(item.strip()) for item in text.split(',') if item.strip())


def build_matrix(
    preset: str,
    terrains: str = '',
    difficulties: str = '',
    perturbations: str = '',
    seeds: str = '',
) -> Matrix:
    """
    Return the preset matrix with any axis overridden by a comma-separated list.

    ``seeds`` also accepts ``N`` alone for seeds 0 ... N-1 when written as ``:N``.
    """
    if preset not in PRESETS:
        raise MatrixError(f'preset: expected one of {sorted(PRESETS)}, got {preset!r}')
    base = PRESETS[preset]
    seed_values: Sequence[int] = base.seeds
    if seeds.startswith(':'):
        seed_values = tuple(range(int(seeds[1:])))
    elif seeds:
        seed_values = parse_list(seeds, int)
    return Matrix(
        parse_list(terrains) if terrains else base.terrains,
        parse_list(difficulties, float) if difficulties else base.difficulties,
        parse_list(perturbations) if perturbations else base.perturbations,
        tuple(seed_values),
    )

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
An independent checker of the joint commands that reach the HAL.

It shares no code with the package: commands are decoded from the raw wire
frames with :mod:`json` and :mod:`struct` (schema 1.0: a JSON metadata frame
and 18 little-endian float32), and the limits are read from the joint-map
YAML with :mod:`yaml`. So a bug in the package's codec, guard or joint-map
loader cannot hide a command outside the limits.
"""

from __future__ import annotations

from collections.abc import Sequence
import json
import math
from pathlib import Path
import struct

import yaml

JOINT_MAP_DIR = Path(__file__).resolve().parents[2] / 'config' / 'joint_maps'
_FLOATS = struct.Struct('<18f')


def target_limits(joint_map_name: str) -> tuple[list[str], list[float], list[float]]:
    """Return (names, lower, upper) of a shipped joint map, read straight from its YAML."""
    data = yaml.safe_load((JOINT_MAP_DIR / f'{joint_map_name}.yaml').read_text())
    hardware = data['hardware']
    lower = hardware.get('target_lower', hardware.get('soft_lower'))
    upper = hardware.get('target_upper', hardware.get('soft_upper'))
    return list(hardware['joint_names']), [float(v) for v in lower], [float(v) for v in upper]


class CommandChecker:
    """
    Decode command frames and record every violation of the safety invariants.

    :param names: the 18 wire joint names.
    :param lower: the 18 lower target limits.
    :param upper: the 18 upper target limits.
    """

    def __init__(
        self, names: Sequence[str], lower: Sequence[float], upper: Sequence[float]
    ) -> None:
        self.names = list(names)
        self.lower = list(lower)
        self.upper = list(upper)
        self.commands: list[tuple[float, ...]] = []
        self.malformed: list[str] = []
        self.non_finite: list[tuple[int, str, float]] = []
        self.outside: list[tuple[int, str, float]] = []

    @classmethod
    def for_joint_map(cls, joint_map_name: str) -> CommandChecker:
        """Return a checker with a shipped joint map's target limits."""
        return cls(*target_limits(joint_map_name))

    def check(self, frames: Sequence[bytes]) -> tuple[float, ...]:
        """Decode one 2-frame command, record any violation, return its 18 values."""
        index = len(self.commands)
        if len(frames) != 2:
            self.malformed.append(f'command {index}: {len(frames)} frames')
            return ()
        meta = json.loads(bytes(frames[0]).decode('utf-8'))
        payload = bytes(frames[1])
        if len(payload) != _FLOATS.size or meta['joint_positions']['shape'] != [18]:
            self.malformed.append(f'command {index}: {len(payload)} bytes, meta {meta}')
            return ()
        values = _FLOATS.unpack(payload)
        self.commands.append(values)
        for slot, value in enumerate(values):
            name = self.names[slot]
            if not math.isfinite(value):
                self.non_finite.append((index, name, value))
            elif not self.lower[slot] <= value <= self.upper[slot]:
                self.outside.append((index, name, value))
        return values

    @property
    def violations(self) -> int:
        """Return the number of malformed, non-finite and out-of-limit values seen."""
        return len(self.malformed) + len(self.non_finite) + len(self.outside)

    def summary(self) -> str:
        """Return a readable account of what was seen (for assertion messages)."""
        return (
            f'{len(self.commands)} commands; malformed {self.malformed[:3]}; '
            f'non-finite {self.non_finite[:3]}; outside {self.outside[:5]} '
            f'({len(self.outside)} values)'
        )

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

"""docs/observation.md documents every one of the observation's terms."""

from __future__ import annotations

import re

from krabby_parkour_ros.contract import GO2_PARKOUR_TEACHER

from .wire import REPO_ROOT


def test_every_term_has_a_row() -> None:
    text = (REPO_ROOT / 'docs' / 'observation.md').read_text(encoding='utf-8')
    # Proprio rows: index | term | source | scale | missing (five columns).
    proprio = [
        int(m)
        for m in re.findall(r'^\| (\d+) \|[^|]+\|[^|]+\|[^|]*\|[^|]*\|$', text, flags=re.MULTILINE)
    ]
    assert proprio == list(range(GO2_PARKOUR_TEACHER.layout.proprio))
    scan_rows = re.findall(r'^\| (\d+) \(y [+-]\d\.\d\d\) \| (.*) \|$', text, flags=re.MULTILINE)
    scan = [int(v) for _, row in scan_rows for v in row.split(' | ')]
    grid = GO2_PARKOUR_TEACHER.scan_grid
    assert scan == list(range(53, 53 + grid.size))
    for iy, (label, _) in enumerate(scan_rows):
        assert int(label) == iy
    for block in ('185, 186, 187', '188–193', '194–222', '223 + 53 · s + j'):
        assert block in text
    slots = re.findall(r'^\| (\d) \| (\d+)–(\d+) \|', text, flags=re.MULTILINE)
    assert [(int(a), int(b)) for _, a, b in slots] == [
        (223 + 53 * s, 275 + 53 * s) for s in range(10)
    ]
    assert 223 + 53 * 10 == GO2_PARKOUR_TEACHER.layout.total

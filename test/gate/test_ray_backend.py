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


"""The Ray backend runs the same episodes with the same results as local processes."""

import pytest

from krabby_parkour_ros.gate.episode import EpisodeSpec, run_episode
from krabby_parkour_ros.gate.runner import run_specs

pytestmark = pytest.mark.slow


def test_ray_backend_matches_local_results() -> None:
    pytest.importorskip('ray', reason='ray is not installed (optional: pip install ray)')
    specs = [
        EpisodeSpec('flat', 0.0, 'nominal', 0, duration_s=2.0),
        EpisodeSpec('gap', 0.5, 'latency', 1, duration_s=2.0),
    ]
    seen = []
    results = run_specs(
        specs,
        backend='ray',
        workers=2,
        progress=lambda done, total, result: seen.append((done, total)),
    )
    assert sorted(seen) == [(1, 2), (2, 2)]
    for spec, result in zip(specs, results):
        assert result['key'] == spec.key
        local = run_episode(spec)
        assert result['trajectory'] == local['trajectory']
        assert result['outcome'] == local['outcome']

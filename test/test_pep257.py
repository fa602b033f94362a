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

"""ament_pep257 over the whole package, as `ros2 pkg create` sets it up."""

import os

import pytest

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: Project sources only: never build/, install/, log/ or a venv in the tree.
LINTED_PATHS = [
    os.path.join(_ROOT, p)
    for p in ('krabby_parkour_ros', 'test', 'launch', 'benchmarks', 'setup.py')
    if os.path.exists(os.path.join(_ROOT, p))
]


@pytest.mark.linter
@pytest.mark.pep257
def test_pep257() -> None:
    ament_pep257 = pytest.importorskip(
        'ament_pep257.main', reason='ament_pep257 is not installed (pip: ros-ament-pep257)'
    )
    rc = ament_pep257.main(argv=LINTED_PATHS)
    assert rc == 0, 'Found code style errors / warnings'

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

"""ament_copyright over the package (runs on a ROS install; not on PyPI)."""

import os

import pytest

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: Project sources only: never build/, install/, log/ or a venv in the tree.
LINTED_PATHS = [
    os.path.join(_ROOT, p)
    for p in ('krabby_parkour_ros', 'test', 'launch', 'benchmarks', 'setup.py')
    if os.path.exists(os.path.join(_ROOT, p))
]


@pytest.mark.copyright
@pytest.mark.linter
def test_copyright() -> None:
    ament_copyright = pytest.importorskip(
        'ament_copyright.main',
        reason='ament_copyright is not installed here (it is not on PyPI); '
        'it runs on a ROS 2 install via colcon test',
    )
    rc = ament_copyright.main(argv=LINTED_PATHS)
    assert rc == 0, 'Found errors'

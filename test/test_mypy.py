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

"""mypy over the package, with the configuration in ``setup.cfg`` (``[mypy]`` sections)."""

import importlib.util
import os
import subprocess
import sys

import pytest

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.linter
def test_mypy() -> None:
    if importlib.util.find_spec('mypy') is None:
        pytest.skip('mypy is not installed (pip: mypy, pinned in requirements.lock)')
    result = subprocess.run(
        [sys.executable, '-m', 'mypy', '--config-file', 'setup.cfg', 'krabby_parkour_ros'],
        cwd=_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f'mypy krabby_parkour_ros:\n{result.stdout}{result.stderr}'

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

"""ruff lint and format over the repository, with the configuration in ``ruff.toml``."""

import os
import shutil
import subprocess
import sys

import pytest

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _ruff() -> str:
    """Return the ruff executable beside this interpreter, else the one on PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), 'ruff')
    found = beside if os.path.exists(beside) else shutil.which('ruff')
    if found is None:
        pytest.skip('ruff is not installed (pip: ruff, pinned in requirements.lock)')
    return found


@pytest.mark.linter
@pytest.mark.parametrize(
    'args', [('check', '--no-cache'), ('format', '--check', '--no-cache')], ids=['lint', 'format']
)
def test_ruff(args: tuple[str, ...]) -> None:
    result = subprocess.run(
        [_ruff(), *args, '.'], cwd=_ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f'ruff {" ".join(args)}:\n{result.stdout}{result.stderr}'

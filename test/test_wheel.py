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

"""``python -m build`` makes a wheel that installs the library and its commands."""

import os
from pathlib import Path
import subprocess
import sys
import sysconfig

import pytest

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = (
    'parkour_node',
    'parkour_demo',
    'parkour_sim',
    'parkour_generate_checkpoint',
    'parkour_export',
    'parkour_replay',
    'parkour_report',
    'parkour_gate',
    # old names, kept as aliases
    'krabby-parkour-demo',
    'krabby-parkour-sim',
    'krabby-parkour-generate-checkpoint',
    'krabby-parkour-export',
    'krabby-parkour-replay',
    'krabby-parkour-report',
)

pytestmark = pytest.mark.slow


def _clean_env() -> dict:
    """
    Return this environment without PYTHONPATH.

    ``source install/setup.bash`` (colcon test in a sourced workspace) puts
    the workspace's own install of this package on PYTHONPATH: pip would
    then see it as installed and the probe would import it instead of the
    wheel's copy. The test venv reaches the dependencies through deps.pth.
    """
    env = dict(os.environ)
    env.pop('PYTHONPATH', None)
    return env


def test_wheel_installs_library_commands_and_model(tmp_path):
    pytest.importorskip('build', reason='the build package is not installed')
    dist = tmp_path / 'dist'
    env = _clean_env()
    subprocess.run(
        [
            sys.executable,
            '-m',
            'build',
            '--wheel',
            '--no-isolation',
            '--outdir',
            str(dist),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
        env=dict(os.environ),
    )
    wheel = next(dist.glob('krabby_parkour-*.whl'))
    venv = tmp_path / 'venv'
    subprocess.run([sys.executable, '-m', 'venv', str(venv)], check=True, timeout=120, env=env)
    python = venv / 'bin' / 'python'
    # The heavy dependencies (torch, rclpy ...) come from this environment
    # (its site-packages, and in a sourced ROS workspace the PYTHONPATH
    # entries) through a .pth file, placed after the venv's own
    # site-packages; the wheel itself is installed for real.
    site = subprocess.run(
        [str(python), '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    deps = [sysconfig.get_paths()['purelib']]
    deps += [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p]
    Path(site.stdout.strip(), 'deps.pth').write_text('\n'.join(deps) + '\n')
    subprocess.run(
        [str(python), '-m', 'pip', 'install', '--no-deps', '--no-index', '-q', str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
        env=env,
    )
    for command in COMMANDS:
        assert (venv / 'bin' / command).exists(), command
    probe = subprocess.run(
        [
            str(python),
            '-c',
            'import krabby_parkour_ros, krabby_parkour_ros.policy.shipped as s; '
            'print(krabby_parkour_ros.__file__); print(s.shipped_checkpoint_path())',
        ],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    module_file, checkpoint = probe.stdout.split()
    assert str(venv) in module_file and str(venv) in checkpoint
    assert Path(checkpoint).stat().st_size > 1_000_000
    out = tmp_path / 'untrained.safetensors'
    run = subprocess.run(
        [
            str(venv / 'bin' / 'krabby-parkour-generate-checkpoint'),
            '--format',
            'safetensors',
            '--out',
            str(out),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert 'UNTRAINED' in run.stdout + run.stderr
    assert (venv / 'share' / 'krabby_parkour' / 'config' / 'parkour.yaml').exists()

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

"""The pure-rclpy entry point: autostart, then a clean shutdown on SIGINT/SIGTERM."""

import os
from pathlib import Path
import signal
import subprocess
import sys
import time

import pytest

from .conftest import scripted_hal

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize('signum', [signal.SIGINT, signal.SIGTERM])
def test_autostart_then_signal_shuts_down_holding(signum):
    hal = scripted_hal()
    env = dict(os.environ, ROS_DOMAIN_ID=str(30 + os.getpid() % 60), PYTHONUNBUFFERED='1')
    process = subprocess.Popen(
        [
            sys.executable,
            '-m',
            'krabby_parkour_ros.node.main',
            '--autostart',
            '--params-file',
            str(ROOT / 'config' / 'parkour.yaml'),
            '--ros-args',
            '-p',
            f'hal.observation_endpoint:={hal.observation_endpoint}',
            '-p',
            f'hal.command_endpoint:={hal.command_endpoint}',
            '-p',
            'soft_start_duration:=0.3',
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        assert hal.wait_commands(150, timeout=60.0), 'autostart did not reach active'
        os.killpg(process.pid, signum)
        output = process.communicate(timeout=30)[0]
        count = len(hal.commands)
        time.sleep(0.3)
        assert len(hal.commands) == count, 'commands after shutdown'
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
        hal.close()
    assert process.returncode == 0, output
    assert 'activated' in output and 'shut down' in output, output
    assert 'ERROR' not in output, output

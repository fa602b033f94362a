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
The library is ROS-free: the README's library example runs with ROS imports blocked.

A fresh interpreter installs an import hook that refuses ``rclpy``,
``rosidl*``, every ROS message package and ``ament_index_python``, then runs
the README's library example against the simulated robot (hal, mapping,
policy, control, sim) with a recording of the HAL frames, and checks that
the robot walked, the recording holds the frames, and no ROS module was
imported.
"""

import json
from pathlib import Path
import subprocess
import sys

import pytest

#: Multi-second runs: behind the slow marker (colcon test skips it; CI runs it).
REPO = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import importlib.abc
import json
import sys

ROS = ('rclpy', 'rcl_interfaces', 'std_msgs', 'sensor_msgs', 'geometry_msgs', 'nav_msgs',
       'diagnostic_msgs', 'visualization_msgs', 'builtin_interfaces', 'tf2_msgs',
       'ament_index_python', 'launch', 'launch_ros', 'std_srvs', 'lifecycle_msgs')


class BlockRos(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        top = name.split('.')[0]
        if top in ROS or top.startswith('rosidl') or top.startswith('rmw'):
            raise ImportError(f'ROS import blocked: {name}')
        return None


sys.meta_path.insert(0, BlockRos())

import threading
import time

from krabby_parkour_ros.control.inference_client import ParkourInferenceClient
from krabby_parkour_ros.hal.config import HalClientConfig
from krabby_parkour_ros.recording.reader import RecordingReader
from krabby_parkour_ros.sim.hal_server import SimHal, SimHalConfig


sim = SimHal(SimHalConfig(observation_endpoint='tcp://127.0.0.1:*',
                          command_endpoint='tcp://127.0.0.1:*', depth_height=12,
                          depth_width=16, pacing='realtime'))
sim.bind()
sim.start()
record = sys.argv[1]
# -- the README's library example --------------------------------------------------------
client = ParkourInferenceClient(HalClientConfig(sim.observation_endpoint, sim.command_endpoint),
                                model_weights='',        # '' = the shipped trained teacher
                                control_rate=100.0, device='cpu', record_path=record)
client.initialize()
running = threading.Event(); running.set()
client.start_thread(running)
client.set_navigation_command(vx=0.5)
start = None
deadline = time.monotonic() + 60.0
while time.monotonic() < deadline:
    status = sim.status()
    if client.mode.value == 'running' and start is None:
        start = status
    if start is not None and status['sim_time_s'] - start['sim_time_s'] >= 5.0:
        break
    client.set_navigation_command(vx=0.5)   # a command lapses after command_timeout
    time.sleep(0.05)
client.stop_thread(); client.close()
# ------------------------------------------------------------------------------------------
sim.stop()
sim.close()
reader = RecordingReader(record)
observations = sum(1 for _ in reader.observations())
commands = sum(1 for _ in reader.commands())
ros = sorted(m for m in sys.modules
             if m.split('.')[0] in ROS or m.split('.')[0].startswith('rosidl'))
print(json.dumps({'distance': status['x'] - start['x'], 'fallen': status['fallen'],
                  'observations': observations, 'commands': commands, 'ros_modules': ros}))
"""


#: The one package allowed to import ROS (the node, its message builders, the demo).
ROS_GLUE = ('krabby_parkour_ros.node',)

IMPORT_ALL = (
    SCRIPT[: SCRIPT.index('import threading')]
    + r"""
import importlib
import pkgutil

import krabby_parkour_ros

failed = {}
names = []
for info in pkgutil.walk_packages(krabby_parkour_ros.__path__, 'krabby_parkour_ros.'):
    if info.name.startswith(tuple(sys.argv[1].split(','))):
        continue
    names.append(info.name)
    try:
        importlib.import_module(info.name)
    except ImportError as exc:
        failed[info.name] = str(exc)
print(json.dumps({'modules': names, 'failed': failed}))
"""
)


def test_every_module_outside_node_imports_without_ros() -> None:
    done = subprocess.run(
        [sys.executable, '-c', IMPORT_ALL, ','.join(ROS_GLUE)],
        cwd=str(REPO),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result['failed'] == {}
    # The walk saw the library (a broken walk would pass vacuously).
    for module in (
        'hal.client',
        'control.inference_client',
        'recording.recorder',
        'sim.hal_server',
    ):
        assert f'krabby_parkour_ros.{module}' in result['modules']


@pytest.mark.slow
def test_readme_library_example_runs_with_ros_imports_blocked(tmp_path) -> None:
    record = tmp_path / 'library.mcap'
    done = subprocess.run(
        [sys.executable, '-c', SCRIPT, str(record)],
        cwd=str(REPO),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result['ros_modules'] == []
    assert not result['fallen'] and result['distance'] > 1.5, result
    assert result['observations'] > 400 and result['commands'] > 400, result

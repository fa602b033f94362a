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

"""Fixtures for node tests: a private ROS context and a scripted HAL server."""

import os
import threading
import time

import numpy as np
import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor

from krabby_parkour_ros.contract import GO2_PARKOUR_TEACHER
from krabby_parkour_ros.hal.config import HalServerConfig
from krabby_parkour_ros.hal.messages import HalCommand
from krabby_parkour_ros.hal.server import HalServer
from krabby_parkour_ros.mapping.joint_map import load_joint_map


def _domain_id() -> int:
    # One domain per test process, so parallel runs on a host never cross-talk.
    base = int(os.environ.get('ROS_DOMAIN_ID', '0') or 0)
    return base if base else 100 + os.getpid() % 100


class ScriptedHal:
    """
    A HAL server publishing a standing Go2 at a fixed rate from a thread.

    Observations carry every extension key; ``pause`` stops publishing (to
    make data stale); every received command is kept with its receive time.
    """

    def __init__(self, server: HalServer, rate: float = 100.0) -> None:
        self.server = server
        self.period = 1.0 / rate
        joint_map = load_joint_map('go2_sim')
        pose = np.array(joint_map.hold_position, dtype=np.float32)
        for i, index in enumerate(joint_map.hardware_index):
            pose[index] = GO2_PARKOUR_TEACHER.default_joint_positions[i]
        self.pose = pose
        self.published: list[int] = []
        self.commands: list[HalCommand] = []
        self.paused = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._image = np.zeros((4, 6, 3), np.uint8)
        self._depth = np.ones((4, 6), np.float32)

    def start(self) -> 'ScriptedHal':
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5.0)

    def _extensions(self) -> dict:
        return {
            'imu_orientation_xyzw': [0.0, 0.0, 0.0, 1.0],
            'imu_angular_velocity': [0.0, 0.0, 0.0],
            'joint_velocities': [0.0] * 18,
            'base_linear_velocity': [0.0, 0.0, 0.0],
            'foot_contacts': [1, 1, 1, 1],
            'height_scan': [0.32] * 132,
        }

    def _run(self) -> None:
        next_time = time.monotonic()
        while not self._stop.is_set():
            if not self.paused.is_set():
                stamp = time.time_ns()
                self.server.publish_observation(
                    stamp,
                    self.pose,
                    self._image,
                    self._image,
                    self._depth,
                    self._depth,
                    self._extensions(),
                )
                self.published.append(stamp)
            while True:
                command = self.server.recv_command(timeout_ms=0)
                if command is None:
                    break
                self.commands.append(command)
            next_time += self.period
            time.sleep(max(0.0, next_time - time.monotonic()))

    def wait_commands(self, count: int, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.commands) >= count:
                return True
            time.sleep(0.01)
        return False


def _make_context():
    context = rclpy.context.Context()
    rclpy.init(context=context, domain_id=_domain_id())
    return context


@pytest.fixture
def ros_context():
    context = _make_context()
    yield context
    rclpy.shutdown(context=context)


@pytest.fixture
def peer_context():
    """
    Yield a second ROS context for the test's own nodes (listeners, publishers).

    It is a separate DDS participant spun by its own executor, as the tools
    on a robot are separate processes: the test's callbacks never share an
    executor with the node under test.
    """
    context = _make_context()
    yield context
    rclpy.shutdown(context=context)


class Spinner:
    """
    Spins nodes in background executors, one per ROS context.

    Single-threaded, as the node's entry point: rclpy's MultiThreadedExecutor
    busy-loops while a ready callback waits for a worker, starving every
    other thread of the GIL.
    """

    def __init__(self) -> None:
        self._executors: dict[int, tuple[SingleThreadedExecutor, threading.Thread]] = {}

    def __call__(self, *nodes) -> None:
        """Spin ``nodes``, each in the executor of its context."""
        for node in nodes:
            key = id(node.context)
            if key not in self._executors:
                executor = SingleThreadedExecutor(context=node.context)
                thread = threading.Thread(target=executor.spin, daemon=True)
                self._executors[key] = (executor, thread)
                executor.add_node(node)
                thread.start()
            else:
                self._executors[key][0].add_node(node)

    def retire(self, node) -> None:
        """Stop spinning ``node`` and destroy it."""
        entry = self._executors.get(id(node.context))
        if entry is not None:
            entry[0].remove_node(node)
        node.destroy_node()

    def shutdown(self) -> None:
        """Stop every executor and join its thread."""
        for executor, thread in self._executors.values():
            executor.shutdown(timeout_sec=5.0)
            thread.join(5.0)
        self._executors.clear()


@pytest.fixture
def spin(ros_context, peer_context):
    """Yield a :class:`Spinner` (stopped at teardown, before the contexts)."""
    spinner = Spinner()
    yield spinner
    spinner.shutdown()


@pytest.fixture(params=['inproc', 'tcp'])
def hal(request):
    """Yield a scripted HAL server over inproc (shared context) or tcp (random port)."""
    if request.param == 'inproc':
        name = f'inproc://hal_obs_{os.getpid()}_{id(request)}'
        config = HalServerConfig(
            observation_endpoint=name, command_endpoint=name.replace('obs', 'cmd')
        )
    else:
        config = HalServerConfig(
            observation_endpoint='tcp://127.0.0.1:*', command_endpoint='tcp://127.0.0.1:*'
        )
    server = HalServer(config)
    server.bind()
    scripted = ScriptedHal(server).start()
    yield scripted
    scripted.stop()
    server.close()

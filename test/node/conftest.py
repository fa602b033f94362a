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

"""Fixtures for node tests: a private ROS context and the package's scripted HAL."""

import os
import threading

import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor

from krabby_parkour_ros.hal.scripted_hal import ObservationTemplate, ScriptedHal

from .node_process import domain_id


def scripted_hal(template: ObservationTemplate | None = None, **kwargs) -> ScriptedHal:
    """
    Return a started scripted HAL (tcp on random loopback ports unless told otherwise).

    It publishes a standing Go2 with every extension key at 100 Hz and keeps
    every command it receives; ``kwargs`` go to :class:`ScriptedHal`. The
    default template has 4x6 images: the node reads proprioception and the
    height scan, not the cameras.
    """
    if template is None:
        template = ObservationTemplate(height=4, width=6)
    return ScriptedHal(template=template, **kwargs).start()


def _make_context():
    context = rclpy.context.Context()
    rclpy.init(context=context, domain_id=domain_id())
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
    """Yield a scripted HAL over inproc (shared context) or tcp (random port)."""
    if request.param == 'inproc':
        name = f'inproc://hal_obs_{os.getpid()}_{id(request)}'
        scripted = scripted_hal(
            observation_endpoint=name, command_endpoint=name.replace('obs', 'cmd')
        )
    else:
        scripted = scripted_hal()
    yield scripted
    scripted.close()

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
Console entry point ``parkour_node``: run the lifecycle node with plain rclpy.

``ros2 launch krabby_parkour parkour.launch.py`` starts this executable and
drives the lifecycle with launch events. Where launch_ros is not available,
``parkour_node --autostart --params-file config/parkour.yaml`` does the same
by itself: configure, then on reaching inactive, activate. Ctrl-C or an
external shutdown takes the node through its shutdown transition (hold, then
release) and exits 0.
"""

from __future__ import annotations

import argparse
import signal
import sys
from typing import List, Optional

import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.signals import SignalHandlerOptions

from krabby_parkour_ros.node.parkour_node import ParkourNode


def _parse(argv: List[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog='parkour_node', description='Krabby parkour lifecycle node (pure rclpy).')
    parser.add_argument('--autostart', action='store_true',
                        help='configure, then activate when inactive (as launch autostart)')
    parser.add_argument('--params-file', default=None,
                        help='ROS parameters YAML (e.g. config/parkour.yaml)')
    parser.add_argument('--node-name', default='parkour_node', help='node name')
    return parser.parse_args(argv)


def autostart(node: ParkourNode) -> bool:
    """Configure, then activate; return True when the node is active."""
    if node.trigger_configure() != TransitionCallbackReturn.SUCCESS:
        node.get_logger().error('autostart: configure failed; the node stays unconfigured')
        return False
    if node.trigger_activate() != TransitionCallbackReturn.SUCCESS:
        node.get_logger().error('autostart: activate failed; the node stays inactive')
        return False
    return True


class _Terminate(Exception):
    """SIGTERM arrived."""


def _raise_terminate(signum, frame) -> None:
    raise _Terminate()


def main(argv: Optional[List[str]] = None) -> int:
    """Run the node until Ctrl-C or shutdown; return the exit code."""
    argv = list(sys.argv if argv is None else argv)
    ros_args = rclpy.utilities.remove_ros_args(argv)
    options = _parse(ros_args[1:])
    if options.params_file:
        # The file goes first so that -p overrides given on the command line win.
        argv = argv[:1] + ['--ros-args', '--params-file', options.params_file, '--'] + argv[1:]
    # Our own signal handling: the shutdown transition (hold, then release)
    # must run while the context is still valid, before rclpy shuts it down.
    rclpy.init(args=argv, signal_handler_options=SignalHandlerOptions.NO)
    signal.signal(signal.SIGTERM, _raise_terminate)
    # A shell starts background jobs with SIGINT ignored and Python keeps it
    # so: SIGINT must always take the node through its shutdown transition.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    node = ParkourNode(options.node_name)
    # The control loop has its own thread; the executor only serves ROS I/O.
    # Single-threaded on purpose: rclpy's MultiThreadedExecutor busy-loops
    # while queued callbacks wait for a worker (docs/node.md, threading).
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    try:
        if options.autostart:
            autostart(node)
        executor.spin()
    except (KeyboardInterrupt, _Terminate, ExternalShutdownException):
        pass
    finally:
        if node._state_machine.current_state[1] in ('unconfigured', 'inactive', 'active'):
            node.trigger_shutdown()
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == '__main__':
    sys.exit(main())

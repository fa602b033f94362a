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
by itself: configure, then activate, once. A later deactivate (``ros2
lifecycle set``) stays deactivated: nothing here reacts to the node
reaching inactive, as the launch file's handler reacts only to the
configuring -> inactive transition.

SIGINT (Ctrl-C) and SIGTERM take the node through its shutdown transition
(hold, then release) and exit 0 within a second, in every lifecycle state:
the executor spins with a timeout, so the signal is seen even when no timer
runs (unconfigured, after a failed configure or an error transition).

DDS discovery is localhost-only unless the environment says otherwise:
when neither ``ROS_AUTOMATIC_DISCOVERY_RANGE`` nor ``ROS_LOCALHOST_ONLY`` is
set, this process sets ``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST`` (Jazzy and
later) and ``ROS_LOCALHOST_ONLY=1`` (Humble) before ``rclpy.init`` reads them.
Set ``ROS_AUTOMATIC_DISCOVERY_RANGE=SUBNET`` to reach the node from other
hosts, with SROS2 (docs/hardening.md).
"""

from __future__ import annotations

import argparse
from collections.abc import MutableMapping
import logging
import os
import signal
import sys

import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.impl.rcutils_logger import RcutilsLogger
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.signals import SignalHandlerOptions

from krabby_parkour_ros.node.parkour_node import ParkourNode

#: Longest wait of the executor: the signal handlers run between waits.
SPIN_TIMEOUT_S = 0.1
#: Environment variables choosing the DDS discovery range (Jazzy+ / Humble).
DISCOVERY_RANGE_VARIABLE = 'ROS_AUTOMATIC_DISCOVERY_RANGE'
LOCALHOST_ONLY_VARIABLE = 'ROS_LOCALHOST_ONLY'
#: Lifecycle states from which the shutdown transition is possible.
_SHUTDOWN_FROM = ('unconfigured', 'inactive', 'active')


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog='parkour_node', description='Krabby parkour lifecycle node (pure rclpy).'
    )
    parser.add_argument(
        '--autostart',
        action='store_true',
        help='configure, then activate, once (as launch autostart); a '
        'later manual deactivate stays deactivated',
    )
    parser.add_argument(
        '--params-file', default=None, help='ROS parameters YAML (e.g. config/parkour.yaml)'
    )
    parser.add_argument('--node-name', default='parkour_node', help='node name')
    return parser.parse_args(argv)


def default_discovery_to_localhost(environ: MutableMapping[str, str] = os.environ) -> str:
    """
    Make DDS discovery localhost-only unless the user chose a range; return the range.

    Must run before ``rclpy.init``: the middleware reads the variables when
    the context is created.
    """
    if not environ.get(DISCOVERY_RANGE_VARIABLE) and not environ.get(LOCALHOST_ONLY_VARIABLE):
        environ[DISCOVERY_RANGE_VARIABLE] = 'LOCALHOST'
        environ[LOCALHOST_ONLY_VARIABLE] = '1'
    if environ.get(DISCOVERY_RANGE_VARIABLE):
        return environ[DISCOVERY_RANGE_VARIABLE]
    return 'LOCALHOST' if environ.get(LOCALHOST_ONLY_VARIABLE) == '1' else 'SYSTEM_DEFAULT'


class RosLogHandler(logging.Handler):
    """
    Forward the package's Python log records to the node's ROS logger.

    The ROS-free modules log with :mod:`logging` (mode changes with their
    cause, hold/release/shadow requests, HAL link events); in the node
    process they belong in the node's output and on ``/rosout``.
    """

    def __init__(self, logger: RcutilsLogger) -> None:
        super().__init__()
        self._logger = logger

    def emit(self, record: logging.LogRecord) -> None:
        """Log ``record`` through the ROS logger at the matching severity."""
        try:
            message = self.format(record)
            if record.levelno >= logging.ERROR:
                self._logger.error(message)
            elif record.levelno >= logging.WARNING:
                self._logger.warning(message)
            elif record.levelno >= logging.INFO:
                self._logger.info(message)
            else:
                self._logger.debug(message)
        except Exception:  # noqa: B902 - logging must never raise into the caller
            self.handleError(record)


def forward_package_logging(node: ParkourNode) -> logging.Handler:
    """Send ``krabby_parkour_ros`` log records to ``node``'s logger; return the handler."""
    handler = RosLogHandler(node.get_logger())
    package = logging.getLogger('krabby_parkour_ros')
    # The ROS logger's severities use Python's numbers (10 debug .. 50 fatal).
    package.setLevel(int(node.get_logger().get_effective_level()))
    package.addHandler(handler)
    package.propagate = False
    return handler


def autostart(node: ParkourNode, stop: ShutdownRequest | None = None) -> bool:
    """
    Configure, then activate, once; return True when the node is active.

    Called once before spinning, never from a state-change callback: a
    later manual deactivate is not undone (issue #14, autostart acts once).
    """
    if node.trigger_configure() != TransitionCallbackReturn.SUCCESS:
        node.get_logger().error('autostart: configure failed; the node stays unconfigured')
        return False
    if stop is not None and stop.signum is not None:
        return False
    if node.trigger_activate() != TransitionCallbackReturn.SUCCESS:
        node.get_logger().error('autostart: activate failed; the node stays inactive')
        return False
    return True


class ShutdownRequest:
    """
    Signal handler for SIGINT and SIGTERM: remember the signal, never raise.

    Raising from a handler (KeyboardInterrupt) could interrupt a transition
    or a callback half-way; the spin loop checks :attr:`signum` between
    waits instead and then takes the shutdown transition.
    """

    def __init__(self) -> None:
        self.signum: int | None = None

    def __call__(self, signum: int, frame: object) -> None:
        """Remember the first signal."""
        if self.signum is None:
            self.signum = signum

    def install(self) -> None:
        """Handle SIGINT and SIGTERM."""
        # A shell starts background jobs with SIGINT ignored and Python keeps
        # it so: SIGINT must always take the node through its shutdown.
        signal.signal(signal.SIGINT, self)
        signal.signal(signal.SIGTERM, self)


def spin_until_shutdown(
    node: ParkourNode, executor: SingleThreadedExecutor, stop: ShutdownRequest
) -> None:
    """
    Spin until a signal or an external shutdown.

    Never raises for a callback's exception (rclpy's own parameter and
    lifecycle services included): it is logged and counted on the node
    (``callback_errors`` in /diagnostics) and the loop goes on.
    """
    while stop.signum is None and node.context.ok():
        try:
            executor.spin_once(timeout_sec=SPIN_TIMEOUT_S)
        except ExternalShutdownException:
            return
        except Exception as exc:  # noqa: B902 - no message may end the process
            node.record_unexpected('executor', exc)


def shut_down(node: ParkourNode, executor: SingleThreadedExecutor) -> None:
    """Take the shutdown transition (hold, then release) and destroy the node."""
    try:
        if node._state_machine.current_state[1] in _SHUTDOWN_FROM:
            node.trigger_shutdown()
    finally:
        executor.shutdown(timeout_sec=1.0)
        node.destroy_node()
        rclpy.try_shutdown()


def run(argv: list[str] | None = None) -> int:
    """Run the node until SIGINT, SIGTERM or shutdown; return the exit code."""
    argv = list(sys.argv if argv is None else argv)
    ros_args = rclpy.utilities.remove_ros_args(argv)
    options = _parse(ros_args[1:])
    if options.params_file:
        # The file goes first so that -p overrides given on the command line win.
        argv = argv[:1] + ['--ros-args', '--params-file', options.params_file, '--'] + argv[1:]
    discovery = default_discovery_to_localhost()
    stop = ShutdownRequest()
    stop.install()
    # Our own signal handling: the shutdown transition (hold, then release)
    # must run while the context is still valid, before rclpy shuts it down.
    rclpy.init(args=argv, signal_handler_options=SignalHandlerOptions.NO)
    node = ParkourNode(options.node_name)
    handler = forward_package_logging(node)
    node.get_logger().info(f'DDS discovery range: {discovery} ({DISCOVERY_RANGE_VARIABLE})')
    # The control loop has its own thread; the executor only serves ROS I/O.
    # Single-threaded on purpose: rclpy's MultiThreadedExecutor busy-loops
    # while queued callbacks wait for a worker (docs/node.md, threading).
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    try:
        if options.autostart and stop.signum is None:
            autostart(node, stop)
        spin_until_shutdown(node, executor, stop)
        if stop.signum is not None:
            node.get_logger().info(f'{signal.Signals(stop.signum).name} received: shutting down')
    finally:
        shut_down(node, executor)
        logging.getLogger('krabby_parkour_ros').removeHandler(handler)
    return 0


def main(argv: list[str] | None = None) -> int:
    """
    Run the node (:func:`run`), then end the process at once with its exit code.

    Everything is released by then (the shutdown transition closed the HAL
    link and the recording, rclpy is shut down); the interpreter's own
    teardown of torch and the middleware would take another ~0.6 s, which
    launch and service managers count against their stop timeout.
    """
    code = run(argv)
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)
    return code  # not reached


if __name__ == '__main__':
    sys.exit(main())

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

"""The node as its own process (``python -m krabby_parkour_ros.node.main``), for tests."""

from collections.abc import Sequence
import os
from pathlib import Path
import signal
import subprocess
import sys
import threading
import time

ROOT = Path(__file__).resolve().parents[2]


def domain_id() -> int:
    """
    Return this test process's ROS domain (the one its contexts and node processes use).

    ``ROS_DOMAIN_ID`` when set (``scripts/test`` sets one per run), else one
    derived from the process id. Either way within 1..101: on Linux a higher
    domain's DDS ports fall into the ephemeral port range, where a socket of
    any other program (the scripted HAL's tcp ports) can take them.
    """
    base = int(os.environ.get('ROS_DOMAIN_ID', '0') or 0)
    return base if base else 1 + os.getpid() % 101


class NodeProcess:
    """
    ``parkour_node`` in a subprocess of its own session; its output is collected.

    :param hal: a scripted HAL (:mod:`krabby_parkour_ros.hal.scripted_hal`) to connect to, or
        None (the node is never configured against a real endpoint).
    :param autostart: pass ``--autostart``.
    :param parameters: extra ``name:=value`` parameter overrides.
    """

    def __init__(self, hal=None, autostart: bool = False, parameters: Sequence[str] = ()) -> None:
        arguments = [
            sys.executable,
            '-m',
            'krabby_parkour_ros.node.main',
            '--params-file',
            str(ROOT / 'config' / 'parkour.yaml'),
        ]
        if autostart:
            arguments.append('--autostart')
        overrides = ['soft_start_duration:=0.3', 'diagnostics_period:=0.2']
        if hal is not None:
            overrides += [
                f'hal.observation_endpoint:={hal.observation_endpoint}',
                f'hal.command_endpoint:={hal.command_endpoint}',
            ]
        arguments.append('--ros-args')
        for override in overrides + list(parameters):
            arguments += ['-p', override]
        # The peers of the tests use the same domain and discovery range.
        env = dict(os.environ, ROS_DOMAIN_ID=str(domain_id()), PYTHONUNBUFFERED='1')
        env.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
        self.process = subprocess.Popen(
            arguments,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        """Return everything the process printed so far."""
        return ''.join(self.lines)

    def wait_output(self, text: str, timeout: float = 60.0) -> bool:
        """Wait until ``text`` appears in the output (False: timeout or exit)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output:
                return True
            if self.process.poll() is not None:
                self._reader.join(5.0)
                return text in self.output
            time.sleep(0.01)
        return False

    def alive(self) -> bool:
        """Return True while the process runs."""
        return self.process.poll() is None

    def signal_and_time_exit(self, signum: int, timeout: float = 10.0) -> float | None:
        """Send ``signum`` to the node; return seconds until it exited (polled every 10 ms)."""
        start = time.monotonic()
        os.kill(self.process.pid, signum)
        while time.monotonic() - start < timeout:
            if self.process.poll() is not None:
                return time.monotonic() - start
            time.sleep(0.01)
        return None

    def close(self) -> str:
        """Kill the process if it still runs; return its output."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10.0)
        self._reader.join(5.0)
        return self.output

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

"""ParkourInferenceClient: the ROS-free controller against the simulated robot."""

import logging
import threading
import time

import numpy as np
import pytest

from krabby_parkour_ros.control.inference_client import ParkourInferenceClient
from krabby_parkour_ros.control.step import ControlMode
from krabby_parkour_ros.hal.config import HalClientConfig
from krabby_parkour_ros.sim.hal_server import SimHal, SimHalConfig

from ..support.waiting import wait_for

#: Multi-second runs: behind the slow marker (colcon test skips it; CI runs it).
pytestmark = pytest.mark.slow


class Captured(logging.Handler):
    """Keep log records (pytest's caplog is disabled by the launch_testing plugin)."""

    def __init__(self) -> None:
        super().__init__()
        self.records = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def sim():
    hal = SimHal(
        SimHalConfig(
            observation_endpoint='inproc://client_test_obs',
            command_endpoint='inproc://client_test_cmd',
            depth_height=12,
            depth_width=16,
            pacing='realtime',
        )
    )
    hal.bind()
    hal.start()
    yield hal
    hal.stop()
    hal.close()


def test_client_soft_starts_walks_and_holds_on_stop(sim):
    handler = Captured()
    logging.getLogger('krabby_parkour_ros.policy.model').addHandler(handler)
    client = ParkourInferenceClient(
        HalClientConfig(
            observation_endpoint=sim.observation_endpoint, command_endpoint=sim.command_endpoint
        ),
        model_weights='',
        control_rate=100.0,
        device='cuda',
        transport_context=sim.transport_context,
    )
    try:
        client.initialize()
        import torch

        if not torch.cuda.is_available():
            assert any(
                'CUDA' in r.getMessage() or 'cuda' in r.getMessage() for r in handler.records
            ), 'no warning about the CUDA fallback'
        assert client.runtime.config.control.policy_decimation == 2  # 50 Hz trained
        running = threading.Event()
        running.set()
        client.start_thread(running)
        used = client.set_navigation_command(vx=5.0)
        assert used.vx == pytest.approx(0.8)  # clamped to the trained range
        assert wait_for(lambda: client.mode == ControlMode.RUNNING, 15.0)
        start_x = sim.status()['x']
        for _ in range(30):  # the command times out after 0.5 s: keep sending it
            client.set_navigation_command(vx=0.5)
            time.sleep(0.1)
        status = sim.status()
        assert not status['fallen']
        assert status['x'] - start_x > 1.0
        stats = client.stats()
        assert stats['counters']['policy_steps'] > 100
        assert stats['counters']['failures'] == 0
        client.stop_thread()
        last = client.runtime.step.last_command
        time.sleep(0.2)  # the hold sent at stop is in flight
        received = sim.statistics()['commands_received']
        time.sleep(0.3)
        # Nothing more after the stop; the last command (the hold) stays in force.
        assert sim.statistics()['commands_received'] == received
        np.testing.assert_allclose(sim.robot.hardware_targets(), last, atol=1e-6)
    finally:
        logging.getLogger('krabby_parkour_ros.policy.model').removeHandler(handler)
        client.close()

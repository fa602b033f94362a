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
The Krabby compute README's usage, as written (module paths aside), walks the robot.

Issue #15: ``start_thread(running_flag=lambda: ...)`` used to kill the
control thread ('function' object has no attribute 'is_set'). The HAL
client also answers the deployed Krabby HAL client's names
(``initialize()``, ``poll(timeout_ms=...)``, ``put_joint_command(JointCommand)``).
"""

import time

import numpy as np
import pytest
import zmq

from krabby_parkour_ros.control.inference_client import ParkourInferenceClient
from krabby_parkour_ros.control.step import ControlMode
from krabby_parkour_ros.hal.client import HalClient
from krabby_parkour_ros.hal.config import HalClientConfig, HalServerConfig
from krabby_parkour_ros.hal.errors import CommandError
from krabby_parkour_ros.hal.messages import JointCommand
from krabby_parkour_ros.hal.server import HalServer
from krabby_parkour_ros.policy.checkpoint import ModelWeights
from krabby_parkour_ros.policy.shipped import shipped_checkpoint_path
from krabby_parkour_ros.sim.hal_server import SimHal, SimHalConfig


@pytest.mark.slow
def test_the_seed_snippet_walks_the_simulated_robot() -> None:
    hal_server = SimHal(
        SimHalConfig(
            observation_endpoint='inproc://seed_obs',
            command_endpoint='inproc://seed_cmd',
            depth_height=12,
            depth_width=16,
            pacing='realtime',
        )
    )
    hal_server.bind()
    hal_server.start()
    running = True
    inference_client = None
    try:
        # -- the seed's code, as its README shows it ---------------------------------------
        transport_context = hal_server.get_transport_context()
        hal_client_config = HalClientConfig(
            observation_endpoint='inproc://seed_obs',
            command_endpoint='inproc://seed_cmd',
        )
        model_weights = ModelWeights(
            checkpoint_path=str(shipped_checkpoint_path('go2_parkour_teacher')),
            action_dim=12,
            obs_dim=753,
        )
        inference_client = ParkourInferenceClient(
            hal_client_config=hal_client_config,
            model_weights=model_weights,
            control_rate=100.0,
            device='cuda',
            transport_context=transport_context,
        )
        inference_client.initialize()
        if transport_context is not None:
            inference_client.poll(timeout_ms=100)
        inference_client.start_thread(running_flag=lambda: running)
        # -- what it does --------------------------------------------------------------------
        start_x = hal_server.status()['x']
        deadline = time.monotonic() + 60.0
        while time.monotonic() < deadline and inference_client.mode != ControlMode.RUNNING:
            time.sleep(0.05)
        assert inference_client.mode == ControlMode.RUNNING, inference_client.stats()
        sim_start = hal_server.status()['sim_time_s']
        while hal_server.status()['sim_time_s'] - sim_start < 6.0:
            assert inference_client.running, inference_client.error
            time.sleep(0.1)
        status = hal_server.status()
        # A zero command: the teacher walks on at about 0.25 m/s (as trained).
        assert not status['fallen']
        assert status['x'] - start_x > 0.5, status
        running = False
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline and inference_client.running:
            time.sleep(0.02)
        assert not inference_client.running and inference_client.error is None
    finally:
        running = False
        if inference_client is not None:
            inference_client.stop_thread()
            inference_client.close()
        hal_server.stop()
        hal_server.close()


def test_hal_client_answers_the_deployed_clients_names() -> None:
    context = zmq.Context()
    server = HalServer(
        HalServerConfig(
            observation_endpoint='inproc://names_obs', command_endpoint='inproc://names_cmd'
        ),
        context=context,
    )
    server.bind()
    client = HalClient(
        HalClientConfig('inproc://names_obs', 'inproc://names_cmd'),
        context=server.get_transport_context(),
    )
    try:
        client.initialize()
        client.initialize()  # idempotent, as the deployed client's
        assert client.poll(timeout_ms=20) is None
        positions = np.linspace(-0.5, 0.5, 18).astype(np.float32)
        sent = client.put_joint_command(JointCommand(positions, timestamp_ns=1234))
        np.testing.assert_array_equal(sent, positions)
        command = server.recv_command(timeout_ms=2000)
        assert command is not None and command.observation_timestamp_ns == 1234
        np.testing.assert_array_equal(command.joint_positions, positions)
        client.put_joint_command(JointCommand(positions, 5, observation_timestamp_ns=77))
        assert server.recv_command(timeout_ms=2000).observation_timestamp_ns == 77
        with pytest.raises(CommandError, match='observation_timestamp_ns'):
            client.put_joint_command(positions)
    finally:
        client.close()
        server.close()
        context.term()

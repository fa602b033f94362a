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

"""Recording from the live controller: the library client and the ROS node."""

import threading
import time

import numpy as np

from krabby_parkour_ros.control.inference_client import ParkourInferenceClient
from krabby_parkour_ros.hal.codec import decode_command, decode_observation
from krabby_parkour_ros.hal.config import HalClientConfig
from krabby_parkour_ros.recording.reader import RecordingReader
from krabby_parkour_ros.sim.hal_server import SimHal, SimHalConfig


def test_library_client_records_every_observation_and_command(tmp_path):
    sim = SimHal(
        SimHalConfig(
            observation_endpoint='inproc://rec_obs',
            command_endpoint='inproc://rec_cmd',
            depth_height=6,
            depth_width=8,
        )
    )
    sim.bind()
    sim.start()
    path = tmp_path / 'run.mcap'
    client = ParkourInferenceClient(
        HalClientConfig(
            observation_endpoint=sim.observation_endpoint, command_endpoint=sim.command_endpoint
        ),
        '',
        device='cpu',
        transport_context=sim.transport_context,
        record_path=str(path),
    )
    try:
        client.initialize()
        running = threading.Event()
        running.set()
        client.start_thread(running)
        time.sleep(1.5)
        client.stop_thread()
        stats = client.stats()
    finally:
        client.close()
        sim.stop()
        sim.close()
    reader = RecordingReader(path)
    observations = [r.observation() for r in reader.observations()]
    commands = [decode_command(r.frame_bytes()) for r in reader.commands()]
    assert not reader.truncated
    # The recorder is tapped in before the client connects; the receiver keeps
    # receiving until close, so the recording holds at least every observation
    # counted when the thread stopped.
    assert len(observations) >= stats['hal']['received_count'] > 100
    # Every command sent is recorded (the last one is the hold at stop).
    assert len(commands) == stats['hal']['commands_sent']
    stamps = {o.timestamp_ns for o in observations}
    assert all(c.observation_timestamp_ns in stamps for c in commands)
    assert all(np.all(np.isfinite(c.joint_positions)) for c in commands)
    # Frames are byte-exact: they decode again to the same values.
    first = next(iter(reader.observations()))
    again = decode_observation(first.frame_bytes())
    np.testing.assert_array_equal(again.joint_positions, observations[0].joint_positions)

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

"""Helpers of the recording tests: a raw HAL peer and a simulated recording."""

from collections.abc import Callable, Sequence
import json
import threading
import time
import uuid

import numpy as np
import zmq

from krabby_parkour_ros.hal.codec import encode_command
from krabby_parkour_ros.recording.recorder import HalRecorder

#: Standing pose of the simulated Go2 in wire order (go2_sim.yaml hold_position).
STANDING_POSE = np.array(
    [
        -0.1,
        0.8,
        -1.5,
        0.1,
        0.8,
        -1.5,
        -0.1,
        1.0,
        -1.5,
        0.1,
        1.0,
        -1.5,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
    ],
    dtype=np.float32,
)

ObservationHook = Callable[[int, int, dict], None]


def inproc_endpoints(tag: str) -> Sequence[str]:
    """Return a unique pair of inproc endpoints."""
    unique = uuid.uuid4().hex[:8]
    return (f'inproc://{tag}_obs_{unique}', f'inproc://{tag}_cmd_{unique}')


class RawHalPeer:
    """
    A minimal HAL client on raw sockets that records what it receives.

    It accepts an observation only if its timestamp is newer than the last
    one (as the project's client does), records the frames exactly as
    received, and answers each one with ``pose``.
    """

    def __init__(
        self,
        context: zmq.Context,
        observation_endpoint: str,
        command_endpoint: str,
        recorder: HalRecorder | None,
        pose: np.ndarray = STANDING_POSE,
        on_observation: ObservationHook | None = None,
    ) -> None:
        self.sub = context.socket(zmq.SUB)
        self.sub.setsockopt(zmq.LINGER, 0)
        self.sub.setsockopt(zmq.SUBSCRIBE, b'observation')
        self.sub.connect(observation_endpoint)
        self.push = context.socket(zmq.PUSH)
        self.push.setsockopt(zmq.LINGER, 0)
        self.push.connect(command_endpoint)
        self.recorder = recorder
        self.pose = pose
        self.on_observation = on_observation
        self.timestamps: list[int] = []
        self.first_wall_ns = 0
        self.last_wall_ns = 0
        self.repeats = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name='raw-hal-peer', daemon=True)

    def start(self) -> 'RawHalPeer':
        """Start answering in a thread."""
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self.sub.poll(20):
                continue
            frames = self.sub.recv_multipart(copy=False)
            mono, wall = time.monotonic_ns(), time.time_ns()
            meta = json.loads(bytes(frames[2]))
            stamp = meta['timestamp_ns']
            if self.timestamps and stamp <= self.timestamps[-1]:
                self.repeats += 1
                continue
            if self.recorder is not None:
                self.recorder.record_observation(frames, mono, wall)
            if self.on_observation is not None:
                self.on_observation(len(self.timestamps), wall, meta)
            self.timestamps.append(stamp)
            self.first_wall_ns = self.first_wall_ns or wall
            self.last_wall_ns = wall
            command = encode_command(self.pose, stamp)
            self.push.send_multipart(command)
            if self.recorder is not None:
                self.recorder.record_command(command)

    def close(self) -> None:
        """Stop the thread and close the sockets."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5.0)
        self.sub.close(linger=0)
        self.push.close(linger=0)

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
Age of the commands a HAL receives after it stopped reading for a while.

A :class:`HalClient` sends a command every 10 ms while the HAL does not
read for ``--stall`` seconds (default 10), then the HAL reads everything.
Each command's age is the HAL's receive wall time minus the command's
``timestamp_ns`` (decoded with json). Three HALs, over tcp and inproc: a
raw PULL with default options, a raw PULL with the protocol's RCVHWM 5,
and the bundled :class:`HalServer` dropping commands older than 0.1 s.

``python benchmarks/bench_command_age.py [--stall S]`` writes
``benchmarks/results/command_age.json`` and prints one line per case.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import time
from typing import Any

import numpy as np
import zmq

from krabby_parkour_ros.hal.client import HalClient
from krabby_parkour_ros.hal.config import HalClientConfig, HalServerConfig
from krabby_parkour_ros.hal.server import HalServer

MAX_AGE_S = 0.1
PERIOD_S = 0.01
RESULTS = Path(__file__).resolve().parent / 'results' / 'command_age.json'


def _age_s(metadata: bytes) -> float:
    return (time.time_ns() - json.loads(metadata)['timestamp_ns']) * 1e-9


def _run(transport: str, hal: str, stall_s: float) -> dict[str, Any]:
    """Stall one HAL while a client sends; return counts and ages."""
    context = zmq.Context()
    bind = f'inproc://bench_age_{hal}' if transport == 'inproc' else 'tcp://127.0.0.1:*'
    server: HalServer | None = None
    pull: zmq.Socket | None = None
    if hal == 'hal_server':
        observation = 'inproc://bench_age_obs' if transport == 'inproc' else 'tcp://127.0.0.1:*'
        server = HalServer(
            HalServerConfig(observation, bind, max_command_age_s=MAX_AGE_S), context=context
        )
        server.bind()
        endpoint = server.bound_command_endpoint
    else:
        pull = context.socket(zmq.PULL)
        pull.setsockopt(zmq.LINGER, 0)
        if hal == 'pull_rcvhwm_5':
            pull.setsockopt(zmq.RCVHWM, 5)
        pull.bind(bind)
        endpoint = pull.getsockopt_string(zmq.LAST_ENDPOINT)
    observation_endpoint = (
        'inproc://bench_age_none' if transport == 'inproc' else 'tcp://127.0.0.1:1'
    )
    client = HalClient(
        HalClientConfig(observation_endpoint, endpoint, max_command_age_s=MAX_AGE_S),
        context=context,
    )
    client.connect()
    pose = np.zeros(18)
    ages: list[float] = []

    def receive(timeout_ms: int) -> bool:
        if server is not None:
            before = server.commands_received + sum(server.rejections.values())
            command = server.recv_command(timeout_ms)
            if command is not None:
                ages.append((time.time_ns() - command.timestamp_ns) * 1e-9)
            return server.commands_received + sum(server.rejections.values()) > before
        assert pull is not None
        if not pull.poll(timeout_ms):
            return False
        ages.append(_age_s(pull.recv_multipart()[0]))
        return True

    while not receive(10):
        client.put_joint_command(pose, time.time_ns())
    while receive(100):
        pass
    ages.clear()
    start = client.stats()
    attempted = 0
    end = time.monotonic() + stall_s
    while time.monotonic() < end:
        client.put_joint_command(pose, time.time_ns())
        attempted += 1
        time.sleep(PERIOD_S)
    stale_before = server.rejections.get('stale', 0) if server is not None else 0
    while receive(300):
        pass
    stats = client.stats()
    stale = server.rejections.get('stale', 0) - stale_before if server is not None else 0
    client.close()
    if server is not None:
        server.close()
    if pull is not None:
        pull.close(linger=0)
    context.term()
    return {
        'transport': transport,
        'hal': hal,
        'stall_s': stall_s,
        'attempted': attempted,
        'sent': stats['commands_sent'] - start['commands_sent'],
        'dropped_by_client': stats['commands_dropped'] - start['commands_dropped'],
        'command_stalls': stats['command_stalls'] - start['command_stalls'],
        'received': len(ages),
        'dropped_stale_by_hal': stale,
        'age_p50_s': round(float(np.percentile(ages, 50)), 4) if ages else None,
        'age_max_s': round(max(ages), 4) if ages else None,
        'over_max_age': sum(age > MAX_AGE_S for age in ages),
    }


def main(argv: list[str] | None = None) -> int:
    """Run every case, write the JSON results and print a summary."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0].strip())
    parser.add_argument('--stall', type=float, default=10.0, help='seconds without reading')
    args = parser.parse_args(argv)
    results = [
        _run(transport, hal, args.stall)
        for transport in ('tcp', 'inproc')
        for hal in ('pull_default', 'pull_rcvhwm_5', 'hal_server')
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps({'max_age_s': MAX_AGE_S, 'period_s': PERIOD_S, 'cases': results}, indent=2)
        + '\n'
    )
    for case in results:
        print(
            '{transport:6} {hal:14} sent {sent:4} dropped {dropped_by_client:4} '
            'received {received:4} stale-dropped-by-HAL {dropped_stale_by_hal:4} '
            'age p50 {age_p50_s} max {age_max_s} s, over max age {over_max_age}'.format(**case)
        )
    return 0


if __name__ == '__main__':
    raise SystemExit(main())

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
Benchmark of the Krabby HAL link: decode cost, round trips, latest-only lag.

1. Decode: ``decode_observation`` of one 480x640 observation (uint8
   cameras, float32 depth and confidence, 4.3 MB), ``--decodes`` times
   (default 2000), plus ``encode_observation`` for reference.
2. Round trip: the HAL (main thread) publishes a pre-encoded 480x640
   observation; the control side (a thread) waits with
   ``wait_for_observation`` and answers with ``put_joint_command``; the HAL
   receives the command. Time from publish to command received, over
   inproc and tcp (``--round-trips`` each, one every 5 ms). The transport
   floor is measured in the same run with plain ZeroMQ sockets (PUB with
   SNDHWM 1 -> SUB, zero-copy receive, a 2-frame reply PUSH -> PULL) and the
   same frames, no decoding. ``client_wakeup_us`` is the time from the
   receiver thread stamping ``receive_time_ns`` to ``wait_for_observation``
   returning in the control thread (decode and checks included).
3. Latest-only: the HAL publishes 48x64 observations at ~1 kHz (small so
   the 2-core machine keeps up) with a sequence number; the control loop
   polls at 100 Hz for ``--lag-seconds`` and records, per tick, how many
   sequence numbers the observation in hand is behind the newest published
   one. Over tcp a naive client (one ``recv`` per tick, no receiver thread)
   is measured the same way for contrast. The final lag is read after the
   HAL stops (its last message follows 50 ms of quiet, see the doc: a PUB
   with SNDHWM 1 drops a message sent within ~1 ms of the previous one over
   tcp, however fast the reader).

The script is longer than most because its three parts share the message
builders and one JSON report, and a benchmark is read top to bottom.

Usage: ``python benchmarks/bench_hal.py [--decodes N] [--round-trips N]
[--lag-seconds S] [--output PATH]``; writes ``benchmarks/results/hal.json``
(or PATH) and prints a summary with p50/p99/max.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable, Sequence
import json
from pathlib import Path
import platform
import sys
import threading
import time
from typing import Any

import numpy as np
import zmq

from krabby_parkour_ros.hal.client import HalClient
from krabby_parkour_ros.hal.codec import decode_observation, encode_observation
from krabby_parkour_ros.hal.config import HalClientConfig, HalServerConfig
from krabby_parkour_ros.hal.server import HalServer

REPO = Path(__file__).resolve().parents[1]

RESULTS = REPO / 'benchmarks' / 'results' / 'hal.json'
BASE_NS = 1_700_000_000_000_000_000
ENDPOINTS = {
    'inproc': ('inproc://bench_hal_observation', 'inproc://bench_hal_commands'),
    'tcp': ('tcp://127.0.0.1:*', 'tcp://127.0.0.1:*'),
}


def summary(samples_ns: Sequence[float], scale: float = 1e-3) -> dict[str, float]:
    """Return p50/p99/max/mean of samples in ns, scaled (default to microseconds)."""
    values = np.asarray(samples_ns, dtype=np.float64) * scale
    if values.size == 0:
        return {'n': 0}
    return {
        'n': int(values.size),
        'p50': float(np.percentile(values, 50)),
        'p99': float(np.percentile(values, 99)),
        'max': float(values.max()),
        'mean': float(values.mean()),
    }


def lag_summary(lags: Sequence[int]) -> dict[str, Any]:
    """Return the lag distribution: histogram and p50/p99/max in sequence numbers."""
    values = np.asarray(lags, dtype=np.float64)
    counts = Counter(int(x) for x in lags)
    result: dict[str, Any] = {
        'n': int(values.size),
        'p50': float(np.percentile(values, 50)),
        'p99': float(np.percentile(values, 99)),
        'max': int(values.max()),
    }
    if len(counts) <= 20:  # a growing backlog has one value per tick: not worth listing
        result['histogram'] = {str(k): v for k, v in sorted(counts.items())}
    return result


def observation_frames(height: int, width: int, seq: int) -> list[bytes]:
    """Return an encoded observation with deterministic content."""
    rng = np.random.default_rng(seq)
    camera = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    depth = rng.uniform(0.2, 8.0, (height, width)).astype(np.float32)
    confidence = rng.uniform(0.0, 1.0, (height, width)).astype(np.float32)
    return encode_observation(
        BASE_NS + seq,
        np.linspace(-1, 1, 18),
        camera,
        camera[::-1],
        depth,
        confidence,
        {'imu_orientation_xyzw': [0.0, 0.0, 0.0, 1.0], 'imu_angular_velocity': [0.0, 0.0, 0.1]},
    )


def with_timestamp(frames: list[bytes], timestamp_ns: int) -> list[bytes]:
    """Return the frames with a new timestamp (metadata re-serialised only)."""
    meta = json.loads(frames[2])
    meta['timestamp_ns'] = timestamp_ns
    return frames[:2] + [json.dumps(meta).encode()] + frames[3:]


# -- 1. decode ------------------------------------------------------------------


def bench_decode(count: int) -> dict[str, Any]:
    frames = observation_frames(480, 640, 1)
    zmq_frames = [zmq.Frame(f) for f in frames]
    for _ in range(50):
        decode_observation(frames)
    decode_bytes, decode_zmq = [], []
    for _ in range(count):
        start = time.perf_counter_ns()
        decode_observation(frames)
        decode_bytes.append(time.perf_counter_ns() - start)
        start = time.perf_counter_ns()
        decode_observation(zmq_frames)
        decode_zmq.append(time.perf_counter_ns() - start)
    encode = []
    rng = np.random.default_rng(0)
    camera = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    depth = rng.uniform(0.2, 8.0, (480, 640)).astype(np.float32)
    for k in range(max(10, count // 10)):
        start = time.perf_counter_ns()
        encode_observation(k, np.zeros(18), camera, camera, depth, depth)
        encode.append(time.perf_counter_ns() - start)
    return {
        'message_bytes': sum(len(f) for f in frames),
        'decode_bytes_frames_us': summary(decode_bytes),
        'decode_zmq_frames_us': summary(decode_zmq),
        'encode_us': summary(encode),
    }


# -- 2. round trips ---------------------------------------------------------------


def _round_trip_hal(
    publish: Callable[[int], object],
    receive: Callable[[int], int | None],
    count: int,
    period_s: float = 0.005,
) -> dict[str, Any]:
    """Run the HAL side: publish, wait for the matching command, record the time."""
    samples: list[int] = []
    lost = 0
    for seq in range(1, count + 1):
        start = time.perf_counter_ns()
        publish(seq)
        answered = receive(seq)
        if answered == seq:
            samples.append(time.perf_counter_ns() - start)
        else:
            lost += 1
        time.sleep(period_s)
    return {'round_trip_us': summary(samples), 'lost': lost}


def _connect_client(server: HalServer, transport: str) -> HalClient:
    config = HalClientConfig(
        observation_endpoint=server.bound_observation_endpoint,
        command_endpoint=server.bound_command_endpoint,
    )
    client = HalClient(config, server.transport_context if transport == 'inproc' else None)
    client.connect()
    return client


def _warm_up(server: HalServer, client: HalClient, frames: list[bytes]) -> int:
    """Publish until the client answers one observation; return the next free sequence."""
    seq = 0
    for seq in range(1, 2000):
        server.publish_frames(with_timestamp(frames, seq))
        observation = client.wait_for_observation(0.005)
        if observation is not None:
            client.put_joint_command(np.zeros(18), observation.timestamp_ns)
            if server.recv_command(timeout_ms=200) is not None:
                break
    time.sleep(0.05)
    server.drain_commands()
    client.poll()
    return seq + 1


def bench_client_round_trip(transport: str, count: int, frames: list[bytes]) -> dict[str, Any]:
    observation, command = ENDPOINTS[transport]
    server = HalServer(HalServerConfig(observation_endpoint=observation, command_endpoint=command))
    server.bind()
    client = _connect_client(server, transport)
    offset = _warm_up(server, client, frames)
    wakeups: list[int] = []
    stop = threading.Event()

    def control_loop() -> None:
        while not stop.is_set():
            obs = client.wait_for_observation(0.1)
            if obs is not None:
                wakeups.append(time.monotonic_ns() - obs.receive_time_ns)
                client.put_joint_command(obs.joint_positions, obs.timestamp_ns)

    pre_encoded = [with_timestamp(frames, offset + seq) for seq in range(1, count + 1)]
    thread = threading.Thread(target=control_loop)
    thread.start()

    def receive(seq: int) -> int | None:
        command = server.recv_command(timeout_ms=1000)
        return None if command is None else command.observation_timestamp_ns - offset

    try:
        result = _round_trip_hal(
            lambda seq: server.publish_frames(pre_encoded[seq - 1]), receive, count
        )
    finally:
        stop.set()
        thread.join()
        stats = client.stats()
        client.close()
        server.close()
    result['client_wakeup_us'] = summary(wakeups)
    result['client_stats'] = {
        k: stats[k]
        for k in ('received_count', 'superseded_count', 'rejections', 'commands_dropped')
    }
    return result


def bench_raw_floor(transport: str, count: int, frames: list[bytes]) -> dict[str, Any]:
    """Measure the same exchange with plain sockets: no decoding, no client thread logic."""
    context = zmq.Context()
    sockets: list[zmq.Socket] = []

    def make(kind: int) -> zmq.Socket:
        socket = context.socket(kind)
        socket.setsockopt(zmq.LINGER, 0)
        sockets.append(socket)
        return socket

    pub, pull = make(zmq.PUB), make(zmq.PULL)
    pub.setsockopt(zmq.SNDHWM, 1)
    if transport == 'inproc':
        pub.bind('inproc://floor_observation')
        pull.bind('inproc://floor_commands')
    else:
        pub.bind('tcp://127.0.0.1:*')
        pull.bind('tcp://127.0.0.1:*')
    sub, push = make(zmq.SUB), make(zmq.PUSH)
    sub.setsockopt(zmq.SUBSCRIBE, b'observation')
    sub.connect(pub.getsockopt_string(zmq.LAST_ENDPOINT))
    push.connect(pull.getsockopt_string(zmq.LAST_ENDPOINT))
    stop = threading.Event()
    reply = [b'{}', np.zeros(18, np.float32).tobytes()]

    def echo() -> None:
        while not stop.is_set():
            if sub.poll(100):
                received = sub.recv_multipart(copy=False)
                push.send_multipart([received[2].bytes] + reply[1:])

    for _ in range(2000):  # slow joiner
        pub.send_multipart([b'observation', b'sync'])
        if sub.poll(5):
            sub.recv_multipart()
            break
    while sub.poll(50):
        sub.recv_multipart()
    thread = threading.Thread(target=echo)
    thread.start()
    metas = [with_timestamp(frames, seq)[2] for seq in range(1, count + 1)]

    def publish(seq: int) -> None:
        pub.send_multipart(frames[:2] + [metas[seq - 1]] + frames[3:], copy=False)

    def receive(seq: int) -> int | None:
        if not pull.poll(1000):
            return None
        return json.loads(pull.recv_multipart()[0])['timestamp_ns']

    try:
        result = _round_trip_hal(publish, receive, count)
    finally:
        stop.set()
        thread.join()
        for socket in sockets:
            socket.close(linger=0)
        context.term()
    return result


# -- 3. latest-only ---------------------------------------------------------------


class Publisher(threading.Thread):
    """Publish sequence-numbered 48x64 observations at a fixed rate from ``t0`` on."""

    def __init__(self, publish: Callable[[list[bytes]], Any], rate_hz: float) -> None:
        super().__init__(name='bench-publisher')
        self._publish = publish
        self.period_s = 1.0 / rate_hz
        self.template = observation_frames(48, 64, 7)
        self.latest_seq = 10_000
        self.t0 = time.monotonic() + 0.005
        self.stop = threading.Event()

    def publish(self, seq: int) -> None:
        frames = with_timestamp(self.template, BASE_NS + seq)
        # Counted as published before the send: the client may have it before send returns.
        self.latest_seq = seq
        self._publish(frames)

    def run(self) -> None:
        next_time = self.t0
        seq = self.latest_seq
        while not self.stop.is_set():
            delay = next_time - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            seq += 1
            self.publish(seq)
            next_time += self.period_s


def _control_ticks(
    poll: Callable[[], int | None], publisher: Publisher, seconds: float, period_s: float = 0.01
) -> tuple[list[int], int | None]:
    """
    Poll like a 100 Hz control loop; return the per-tick lags and the last held sequence.

    Ticks fall half a publish period after a publish: aligned with the publisher they
    would always meet a message still in flight and read lag 1 by construction.
    """
    held: int | None = None
    lags: list[int] = []
    next_tick = publisher.t0 + publisher.period_s / 2
    end = next_tick + seconds
    while next_tick < end:
        time.sleep(max(0.0, next_tick - time.monotonic()))
        next_tick += period_s
        seq = poll()
        if seq is not None:
            held = seq
        if held is not None:
            lags.append(publisher.latest_seq - held)
    return lags, held


def _wait_for_seq(client: HalClient, seq: int, timeout_s: float) -> Any | None:
    """Return the first observation at or after ``seq`` (or the newest at the timeout)."""
    deadline = time.monotonic() + timeout_s
    newest = None
    while time.monotonic() < deadline:
        obs = client.wait_for_observation(max(0.0, deadline - time.monotonic()))
        if obs is not None:
            newest = obs
            if obs.timestamp_ns - BASE_NS >= seq:
                break
    return newest


def bench_latest_only(transport: str, seconds: float) -> dict[str, Any]:
    observation, command = ENDPOINTS[transport]
    server = HalServer(HalServerConfig(observation_endpoint=observation, command_endpoint=command))
    server.bind()
    client = _connect_client(server, transport)
    _warm_up(server, client, observation_frames(48, 64, 7))
    publisher = Publisher(server.publish_frames, 1000.0)
    start_received = client.stats()['received_count']

    def poll() -> int | None:
        obs = client.poll()
        return None if obs is None else obs.timestamp_ns - BASE_NS

    publisher.start()
    try:
        lags, held = _control_ticks(poll, publisher, seconds)
    finally:
        publisher.stop.set()
        publisher.join()
    time.sleep(0.05)  # the HAL is quiet, then sends its last message
    publisher.publish(publisher.latest_seq + 1)
    final = _wait_for_seq(client, publisher.latest_seq, 2.0)
    published = publisher.latest_seq - 10_000
    stats = client.stats()
    result = {
        'published': published,
        'received_by_client': stats['received_count'] - start_received,
        'lag_seq': lag_summary(lags),
        'final_lag_seq': (
            None if final is None else publisher.latest_seq - (final.timestamp_ns - BASE_NS)
        ),
        'superseded': stats['superseded_count'],
        'rejections': stats['rejections'],
    }
    client.close()
    server.close()
    return result


def bench_naive_tcp(seconds: float) -> dict[str, Any]:
    """Measure a client that reads one message per control tick (no receiver thread)."""
    server = HalServer(HalServerConfig('tcp://127.0.0.1:*', 'tcp://127.0.0.1:*'))
    server.bind()
    context = zmq.Context()
    sub = context.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b'observation')
    sub.connect(server.bound_observation_endpoint)
    template = observation_frames(48, 64, 7)
    for seq in range(1, 2000):  # slow joiner
        server.publish_frames(with_timestamp(template, seq))
        if sub.poll(5):
            break
    while sub.poll(20):
        sub.recv_multipart()
    publisher = Publisher(server.publish_frames, 1000.0)

    def poll() -> int | None:
        if not sub.poll(0):
            return None
        return decode_observation(sub.recv_multipart(copy=False)).timestamp_ns - BASE_NS

    publisher.start()
    try:
        lags, _ = _control_ticks(poll, publisher, seconds)
    finally:
        publisher.stop.set()
        publisher.join()
    time.sleep(0.05)
    publisher.publish(publisher.latest_seq + 1)
    time.sleep(0.1)
    backlog, newest = 0, None
    while sub.poll(0):
        newest = decode_observation(sub.recv_multipart(copy=False)).timestamp_ns - BASE_NS
        backlog += 1
    sub.close(linger=0)
    context.term()
    server.close()
    return {
        'lag_seq': lag_summary(lags),
        'backlog_at_stop_messages': backlog,
        'catch_up_at_100hz_s': backlog * 0.01,
        'last_message_in_backlog': newest == publisher.latest_seq,
    }


def _line(name: str, stats: dict[str, float], unit: str = 'us') -> str:
    return (
        f'  {name:34} p50 {stats["p50"]:9.1f}  p99 {stats["p99"]:9.1f}  max {stats["max"]:9.1f}'
        f' {unit}'
    )


def print_summary(results: dict[str, Any]) -> None:
    decode = results['decode']
    print(f'HAL link benchmark ({results["machine"]}, {int(results["cpu_count"])} cores)')
    print(
        f'decode/encode of one 480x640 observation ({decode["message_bytes"] / 1000000.0:.1f} MB):'
    )
    print(_line('decode (bytes frames)', decode['decode_bytes_frames_us']))
    print(_line('decode (zmq.Frame, as received)', decode['decode_zmq_frames_us']))
    print(_line('encode', decode['encode_us']))
    print('observation -> command round trip, 480x640:')
    for transport in ('inproc', 'tcp'):
        trip = results['round_trip'][transport]
        print(
            _line(
                f'{transport} HalClient (lost {int(trip["client"]["lost"])})',
                trip['client']['round_trip_us'],
            )
        )
        print(
            _line(
                f'{transport} raw ZeroMQ floor (lost {int(trip["floor"]["lost"])})',
                trip['floor']['round_trip_us'],
            )
        )
        print(_line(f'{transport} client wake-up', trip['client']['client_wakeup_us']))
    print('latest-only, 48x64 at ~1 kHz publish, 100 Hz poll (lag in sequence numbers):')
    for name, run in results['latest_only'].items():
        lag = run['lag_seq']
        if 'final_lag_seq' in run:
            extra = (
                f', final lag {run["final_lag_seq"]}, client received'
                f' {int(run["received_by_client"])} of {int(run["published"])} published'
            )
        else:
            extra = (
                f', {int(run["backlog_at_stop_messages"])} messages queued at stop'
                f' ({run["catch_up_at_100hz_s"]:.1f} s to catch up at 100 Hz)'
            )
        print(
            f'  {name:30} p50 {lag["p50"]:6.1f}  p99 {lag["p99"]:6.1f}  max'
            f' {int(lag["max"]):6}{extra}'
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0].strip())
    parser.add_argument('--decodes', type=int, default=2000)
    parser.add_argument('--round-trips', type=int, default=300)
    parser.add_argument('--lag-seconds', type=float, default=3.0)
    parser.add_argument(
        '--output', type=Path, default=RESULTS, help=f'JSON result file (default {RESULTS})'
    )
    args = parser.parse_args(argv)
    frames = observation_frames(480, 640, 1)
    results: dict[str, Any] = {
        'machine': platform.processor() or platform.machine(),
        'cpu_count': len(__import__('os').sched_getaffinity(0)),
        'python': platform.python_version(),
        'pyzmq': zmq.pyzmq_version(),
        'libzmq': zmq.zmq_version(),
        'numpy': np.__version__,
        'decode': bench_decode(args.decodes),
        'round_trip': {},
        'latest_only': {},
    }
    for transport in ('inproc', 'tcp'):
        results['round_trip'][transport] = {
            'floor': bench_raw_floor(transport, args.round_trips, frames),
            'client': bench_client_round_trip(transport, args.round_trips, frames),
        }
    for transport in ('inproc', 'tcp'):
        results['latest_only'][transport] = bench_latest_only(transport, args.lag_seconds)
    results['latest_only']['tcp_naive_1_recv_per_tick'] = bench_naive_tcp(args.lag_seconds)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + '\n')
    print_summary(results)
    print(f'wrote {args.output}')
    return 0


if __name__ == '__main__':
    sys.exit(main())

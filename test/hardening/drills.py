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
Fault drills against the running controller, with recovery times.

Each drill runs the real ROS-free controller (``ParkourInferenceClient``,
shipped trained teacher, real observation builder and action mapper, real
HAL client) against a scripted HAL (:class:`~.harness.ScriptedHal`),
provokes one kind of fault, removes it, and returns what happened: the
sequence of control modes, every recovery time (cause removed -> first
command answering a fresh observation at the HAL, and -> the policy in
control again), and the safety checks (every command the HAL received is
18 finite values, the HAL rejected none, holds repeat the last target).

1. ``hal_restart``: the HAL's sockets are killed and rebound on the same
   tcp ports, after short and long outages.
2. ``pause``: the HAL stops publishing, shortly (the policy resumes) and
   long (ramp to the default pose first).
3. ``timestamps``: observations with old timestamps interleaved with good
   ones; then the HAL clock jumps back for good (re-sync).
4. ``malformed``: bursts of malformed messages between good ones; then only
   malformed ones for a while.
5. ``policy``: inference raises, then returns non-finite actions, a few
   steps each (hold, recover); then fails for good (latch after N).

``python test/hardening/drills.py`` runs every drill, prints the recovery
times and writes ``benchmarks/results/fault_drills.json``. The tests in
``test_fault_drills.py`` run the same drills and check their results.
The module is longer than most because the drills share one rig and one
report and run as one script; the malformed messages come from
``test/support/malformed.py``.
"""

from __future__ import annotations

from collections.abc import Callable
import json
import os
from pathlib import Path
import signal
import subprocess
import sys
import threading
import time
from typing import Any

if __name__ == '__main__':  # run as a script from a source checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import zmq  # noqa: E402

from krabby_parkour_ros.control.inference_client import ParkourInferenceClient  # noqa: E402
from krabby_parkour_ros.control.step import ControlMode  # noqa: E402
from krabby_parkour_ros.hal.config import HalServerConfig  # noqa: E402
from krabby_parkour_ros.policy.model import InferenceResponse  # noqa: E402
from test.hardening.harness import (  # noqa: E402
    make_controller,
    MS,
    ObservationTemplate,
    ScriptedHal,
    TickLog,
    wait_for,
)
from test.node.node_process import domain_id  # noqa: E402
from test.support import malformed  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / 'benchmarks' / 'results' / 'fault_drills.json'
#: Controller timings of the drills (seconds): short ramps keep the drills quick.
# The drills exercise the policy's stale/fault handling with a zero command:
# the policy must run (stand_on_zero_command would stand the robot instead).
DRILL_TIMINGS: dict[str, Any] = {
    'soft_start_duration': 0.3,
    'recovery_ramp_duration': 0.3,
    'stale_timeout': 0.1,
    'stale_resume_window': 0.5,
    'max_consecutive_failures': 5,
    'stand_on_zero_command': False,
}
RECOVERY_TIMEOUT_S = 5.0
_ids = iter(range(1_000_000))


class Rig:
    """
    A scripted HAL and a running controller with a tick log.

    :param transport: 'inproc' or 'tcp'.
    :param sndhwm: the HAL's PUB SNDHWM (1 as deployed; more lets bursts through).
    """

    def __init__(self, transport: str = 'inproc', sndhwm: int = 1) -> None:
        if transport == 'inproc':
            n = next(_ids)
            endpoints = (f'inproc://drill_obs_{n}', f'inproc://drill_cmd_{n}')
            self.context: zmq.Context | None = zmq.Context()
        else:
            endpoints = ('tcp://127.0.0.1:*', 'tcp://127.0.0.1:*')
            self.context = None
        config = HalServerConfig(*endpoints, observation_sndhwm=sndhwm)
        self.hal = ScriptedHal(
            template=ObservationTemplate(16, 24), context=self.context, server_config=config
        )
        self.log = TickLog()
        # No warm-up: its spare inferences would take some of the model
        # failures a drill injects per call (the policy steps would see fewer).
        self.client: ParkourInferenceClient = make_controller(
            self.hal, on_tick=self.log, warm_up_lead_s=0.0, **DRILL_TIMINGS
        )
        self.running = threading.Event()

    def __enter__(self) -> Rig:
        """Start the HAL and the controller; wait until the policy runs."""
        self.hal.start()
        self.running.set()
        self.client.start_thread(self.running)
        if not wait_for(lambda: self.client.mode == ControlMode.RUNNING, 10.0):
            raise RuntimeError(
                f'the controller never reached running: {controller_stats(self.client)}'
            )
        return self

    def __exit__(self, *exc_info) -> None:
        """Stop everything (controller first: inproc clients close before the server)."""
        self.client.close()
        self.hal.close()
        if self.context is not None:
            self.context.term()

    # -- measurements -------------------------------------------------------------------

    def recovery(
        self,
        cause_removed_ns: int,
        timeout_s: float = RECOVERY_TIMEOUT_S,
        ramp_expected: bool | None = None,
    ) -> dict[str, Any]:
        """
        Wait until the policy is back in control; return the recovery times.

        ``link_s``: cause removed -> the HAL received the first command
        answering an observation published after that. ``running_s``: ->
        the first tick in which the policy ran again.
        """
        published = self.hal.published

        def fresh(stamp: int | None) -> bool:
            return stamp is not None and published.get(stamp, -1) >= cause_removed_ns

        def policy_tick(entry: tuple) -> bool:
            return entry[1] == ControlMode.RUNNING and entry[3] and fresh(entry[5])

        def link_ns() -> int | None:
            for command in list(self.hal.commands):
                if fresh(command.observation_timestamp_ns):
                    return command.receive_ns
            return None

        recovered = wait_for(
            lambda: (
                link_ns() is not None
                and self.log.first_time(cause_removed_ns, policy_tick) is not None
            ),
            timeout_s,
        )
        link = link_ns()
        running_ns = self.log.first_time(cause_removed_ns, policy_tick)
        modes = [m.value for m in self.log.modes_since(cause_removed_ns)]
        result = {
            'recovered': bool(recovered),
            'link_s': None if link is None else (link - cause_removed_ns) / 1e9,
            'running_s': None if running_ns is None else (running_ns - cause_removed_ns) / 1e9,
            'modes_after': modes,
            'ramped': (
                ControlMode.SOFT_START.value in modes[: modes.index('running')]
                if 'running' in modes
                else None
            ),
        }
        if ramp_expected is not None:
            result['ramp_expected'] = ramp_expected
        return result

    def safety(self) -> dict[str, Any]:
        """Return the safety checks over every command the HAL received so far."""
        commands = list(self.hal.commands)
        finite = all(
            c.joint_positions.shape == (18,) and np.isfinite(c.joint_positions).all()
            for c in commands
        )
        stats = controller_stats(self.client)
        return {
            'commands': len(commands),
            'all_finite': bool(finite),
            'hal_rejections': self.hal.all_rejections(),
            'non_finite_blocked': stats['counters']['non_finite_blocked'],
            'client_rejections': stats['hal']['rejections'],
            'controller_error': repr(self.client.error) if self.client.error else None,
            'hal_error': repr(self.hal.error) if self.hal.error else None,
        }

    def holds_repeat_last_target(self, start_ns: int, end_ns: int) -> bool:
        """Return True when every command received in [start, end] repeats one target."""
        window = [
            c.joint_positions
            for c in list(self.hal.commands)
            if start_ns <= c.receive_ns <= end_ns
        ]
        return all(np.array_equal(window[0], c) for c in window[1:])

    def outage(
        self,
        duration_s: float,
        stop: Callable[[], None],
        restore: Callable[[], None],
        ramp_expected: bool,
    ) -> dict[str, Any]:
        """
        Run one outage: ``stop``, wait ``duration_s``, ``restore``; return the recovery.

        Adds ``modes_during`` (modes between stop and restore) and
        ``holds_repeat`` (every command from 120 ms after the stop, when the
        stale hold has surely begun, repeats one target) to :meth:`recovery`.
        """
        time.sleep(0.3)
        stopped = _now()
        stop()
        time.sleep(duration_s)
        restore()
        restored = _now()
        recovery = self.recovery(restored, ramp_expected=ramp_expected)
        recovery.update(
            modes_during=self.modes_between(stopped, restored),
            holds_repeat=self.holds_repeat_last_target(stopped + 120 * MS, restored),
        )
        return recovery

    def modes_between(self, start_ns: int, end_ns: int) -> list[str]:
        """Return the distinct consecutive modes of the ticks in [start, end]."""
        out: list[str] = []
        for entry in list(self.log.entries):
            if start_ns <= entry[0] <= end_ns and (not out or out[-1] != entry[1].value):
                out.append(entry[1].value)
        return out


def controller_stats(client: ParkourInferenceClient) -> dict[str, Any]:
    """Return the controller's stats (nested dicts: ``['hal']['rejections']`` ...)."""
    return client.stats()


def _now() -> int:
    return time.monotonic_ns()


# -- 1. HAL killed and restarted -----------------------------------------------------------


def drill_hal_restart(outages_s=(0.2, 1.0, 0.2, 1.0)) -> dict[str, Any]:
    """Kill the HAL's sockets and rebind them on the same tcp ports, repeatedly."""
    cycles = []
    with Rig('tcp') as rig:
        for outage in outages_s:
            recovery = rig.outage(
                outage, rig.hal.kill, rig.hal.restart, ramp_expected=outage > 0.5
            )
            recovery.update(outage_s=outage)
            cycles.append(recovery)
        time.sleep(0.2)
        stats = controller_stats(rig.client)
        result = {
            'cycles': cycles,
            'safety': rig.safety(),
            'reconnects': stats['hal']['reconnects'],
            'commands_dropped': stats['hal']['commands_dropped'],
            'restarts': rig.hal.restarts,
        }
    return result


# -- 2. HAL paused -------------------------------------------------------------------------


def drill_pause(pauses_s=(0.2, 1.5)) -> dict[str, Any]:
    """Stop publishing for a short and a long time."""
    cycles = []
    with Rig('tcp') as rig:
        for pause in pauses_s:
            recovery = rig.outage(
                pause,
                rig.hal.pause,
                rig.hal.resume,
                ramp_expected=pause > DRILL_TIMINGS['stale_resume_window'],
            )
            recovery.update(pause_s=pause)
            cycles.append(recovery)
        time.sleep(0.2)
        result = {
            'cycles': cycles,
            'safety': rig.safety(),
            'stale_events': controller_stats(rig.client)['counters']['stale_events'],
        }
    return result


# -- 3. old and backwards timestamps -----------------------------------------------------


def drill_timestamps(old_seconds: float = 1.0) -> dict[str, Any]:
    """Interleave old-stamped observations with good ones, then jump the clock back."""
    with Rig('inproc', sndhwm=100) as rig:
        hal = rig.hal
        old_stamps: list[int] = []
        start = _now()
        end = time.monotonic() + old_seconds
        while time.monotonic() < end:
            stamp = time.time_ns() - 10 * 10**9 - len(old_stamps)
            old_stamps.append(stamp)
            hal.inject(hal.template.frames(stamp))
            time.sleep(0.01)
        time.sleep(0.1)
        interleaved = {
            'injected': len(old_stamps),
            'modes': rig.modes_between(start, _now()),
            'answered_old': sum(
                1 for c in list(hal.commands) if c.observation_timestamp_ns in set(old_stamps)
            ),
            'timestamp_rejections': controller_stats(rig.client)['hal']['rejections'].get(
                'timestamp', 0
            ),
        }
        # The HAL restarts with a clock one minute behind: the client re-syncs.
        base = time.time_ns() - 60 * 10**9
        counter = iter(range(10**9))
        jumped = _now()
        hal.stamp_source = lambda: base + next(counter) * 10 * MS
        recovery = rig.recovery(jumped)
        time.sleep(0.2)
        stats = controller_stats(rig.client)
        jump = dict(
            recovery,
            modes_during=rig.modes_between(jumped, _now()),
            timestamp_resyncs=stats['hal']['timestamp_resyncs'],
            resync_count=rig.client.runtime.hal.config.timestamp_resync_count,
        )
        result = {'interleaved_old': interleaved, 'clock_jump_back': jump, 'safety': rig.safety()}
    return result


# -- 4. malformed bursts -----------------------------------------------------------------


#: One malformed message of each kind the drill rotates through (test/support/malformed.py).
DRILL_MALFORMED_CASES = tuple(
    malformed.case(case_id)
    for case_id in (
        'seven_frames',
        'depth_short_partial_item',
        'json_syntax',
        'schema_version',
        'nan_joint',
        'inf_depth_positive',
        'angular_velocity_nan',
        'height_scan_string',
        'missing_depth_map',
        'twelve_joints_declared',
        'depth_float64',
        'timestamp_string',
        'camera_shapes_huge',
    )
)


def malformed_messages(template: ObservationTemplate, stamp: int) -> list[list[bytes]]:
    """Return one malformed message of each kind (stamped ``stamp`` where it has one)."""
    good = template.frames(stamp)
    return [case.build(good) for case in DRILL_MALFORMED_CASES]


def drill_malformed(
    interleaved_s: float = 1.0, only_malformed_s: float = 0.3, per_good: int = 5
) -> dict[str, Any]:
    """Bursts of malformed messages between good ones, then only malformed ones."""
    with Rig('inproc', sndhwm=100) as rig:
        hal = rig.hal
        bad_stamps = set()
        rejected_before = controller_stats(rig.client)['hal']['rejected_count']
        start = _now()
        end = time.monotonic() + interleaved_s
        injected = 0
        while time.monotonic() < end:
            stamp = time.time_ns() + 5 * MS
            bad_stamps.add(stamp)
            kinds = malformed_messages(hal.template, stamp)
            for _ in range(per_good):  # rotate through every kind
                hal.inject(kinds[injected % len(kinds)])
                injected += 1
            time.sleep(0.01)
        interleaved_end = _now()
        time.sleep(0.05)
        stats = controller_stats(rig.client)
        interleaved = {
            'injected': injected,
            'rejected': stats['hal']['rejected_count'] - rejected_before,
            'rejections': stats['hal']['rejections'],
            'modes': rig.modes_between(start, interleaved_end),
        }
        rotation = iter(range(10**9))
        only_start = _now()
        hal.substitute = lambda stamp: malformed_messages(hal.template, stamp)[
            next(rotation) % len(kinds)
        ]
        time.sleep(only_malformed_s)
        hal.substitute = None
        restored = _now()
        recovery = rig.recovery(restored, ramp_expected=False)
        recovery.update(modes_during=rig.modes_between(only_start, restored))
        time.sleep(0.1)
        answered = {c.observation_timestamp_ns for c in list(hal.commands)}
        result = {
            'interleaved': interleaved,
            'only_malformed': recovery,
            'answered_malformed': len(answered & bad_stamps),
            'answered_unpublished': len(answered - set(hal.published) - bad_stamps),
            'safety': rig.safety(),
        }
    return result


# -- 5. policy failures ------------------------------------------------------------------


class FaultyPolicy:
    """Wrap a model's ``inference``: fail the next N calls by raising or returning NaN."""

    def __init__(self, model) -> None:
        self._inference = model.inference
        self._dim = model.action_dim
        self.mode = 'ok'
        self.remaining = 0
        self.calls = 0
        self.failed_calls = 0
        self.last_failure_ns = 0
        model.inference = self

    def fail(self, mode: str, count: int) -> None:
        """Fail the next ``count`` calls ('raise' or 'nan'); then work again."""
        self.mode, self.remaining = mode, count

    def __call__(self, model_io) -> InferenceResponse:
        """Run or fail one inference."""
        self.calls += 1
        if self.remaining > 0:
            self.remaining -= 1
            self.failed_calls += 1
            self.last_failure_ns = _now()
            if self.mode == 'raise':
                raise RuntimeError('injected inference failure')
            return InferenceResponse(action=torch.full((self._dim,), float('nan')), success=True)
        return self._inference(model_io)


def drill_policy(transient: int = 3) -> dict[str, Any]:
    """Inference raises, then returns NaN (transient: hold and recover), then fails for good."""
    phases = []
    with Rig('inproc') as rig:
        step = rig.client.runtime.step
        faulty = FaultyPolicy(rig.client.runtime.model)
        for mode in ('raise', 'nan'):
            time.sleep(0.3)
            failures_before = step.counters['failures']
            start = _now()
            faulty.fail(mode, transient)
            wait_for(lambda: faulty.remaining == 0, 5.0)
            recovery = rig.recovery(faulty.last_failure_ns)
            recovery.update(
                mode=mode,
                injected=transient,
                failures=step.counters['failures'] - failures_before,
                modes_during=rig.modes_between(start, faulty.last_failure_ns),
                holds_repeat=rig.holds_repeat_last_target(start + 25 * MS, faulty.last_failure_ns),
                latched=step.fault_latched,
            )
            phases.append(recovery)
        time.sleep(0.3)
        before = step.counters['failures']
        last_good = rig.hal.commands[-1].joint_positions.copy()
        faulty.fail('raise', 10**6)
        thread_stopped = wait_for(lambda: not rig.client.running, 5.0)
        time.sleep(0.1)
        final = rig.hal.commands[-1].joint_positions
        latch = {
            'latched': step.fault_latched,
            'thread_stopped': thread_stopped,
            'failures_until_latch': step.counters['failures'] - before,
            'max_consecutive_failures': DRILL_TIMINGS['max_consecutive_failures'],
            'fault_latches': step.counters['fault_latches'],
            'final_command_is_last_good': bool(np.array_equal(final, last_good)),
            'failures_by_reason': dict(step.failures_by_reason),
        }
        result = {'transient': phases, 'latch': latch, 'safety': rig.safety()}
    return result


# -- the same through the ROS node process ---------------------------------------------


class _ModeWatcher:
    """A ROS node in this process recording the parkour node's mode messages."""

    def __init__(self, domain_id: int) -> None:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        from std_msgs.msg import String
        from krabby_parkour_ros.node.qos import STATUS_QOS

        self._rclpy = rclpy
        self.context = rclpy.context.Context()
        rclpy.init(context=self.context, domain_id=domain_id)
        self.node = rclpy.create_node('parkour_drill', context=self.context)
        self.modes: list[tuple] = []
        self.node.create_subscription(
            String,
            '/parkour_node/mode',
            lambda msg: self.modes.append((_now(), msg.data)),
            STATUS_QOS,
        )
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._thread = threading.Thread(target=self.executor.spin, daemon=True)
        self._thread.start()

    def mode(self) -> str:
        return self.modes[-1][1] if self.modes else ''

    def sequence_since(self, start_ns: int) -> list[str]:
        out: list[str] = []
        for stamp, mode in list(self.modes):
            if stamp >= start_ns and (not out or out[-1] != mode):
                out.append(mode)
        return out

    def first(self, start_ns: int, mode: str) -> int | None:
        return next((t for t, m in list(self.modes) if t >= start_ns and m == mode), None)

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()
        self._rclpy.try_shutdown(context=self.context)


def drill_node(pause_s: float = 0.35, outage_s: float = 1.0) -> dict[str, Any]:
    """
    Pause, then kill and restart the HAL under the real ROS node process (tcp).

    Modes come from ``~/mode`` (published every diagnostics period, 0.1 s);
    recovery times from the commands the HAL receives.
    """
    domain = domain_id()
    hal = ScriptedHal(template=ObservationTemplate(16, 24)).start()
    watcher = _ModeWatcher(domain)
    timings = ['-p', 'diagnostics_period:=0.1'] + [
        arg for key, value in DRILL_TIMINGS.items() for arg in ('-p', f'{key}:={value}')
    ]
    command = [
        sys.executable,
        '-m',
        'krabby_parkour_ros.node.main',
        '--autostart',
        '--params-file',
        str(REPO / 'config' / 'parkour.yaml'),
        '--ros-args',
        '-p',
        f'hal.observation_endpoint:={hal.observation_endpoint}',
        '-p',
        f'hal.command_endpoint:={hal.command_endpoint}',
    ] + timings
    process = subprocess.Popen(
        command,
        cwd=str(REPO),
        start_new_session=True,
        env=dict(os.environ, ROS_DOMAIN_ID=str(domain)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    result: dict[str, Any] = {}
    try:
        if not wait_for(lambda: watcher.mode() == 'running', 60.0, 0.05):
            raise RuntimeError(f'the node never reached running (exit {process.poll()})')
        time.sleep(0.5)
        cycles = []
        for kind in ('pause', 'restart'):
            start = _now()
            if kind == 'pause':
                hal.pause()
                time.sleep(pause_s)
                hal.resume()
            else:
                hal.kill()
                time.sleep(outage_s)
                hal.restart()
            removed = _now()

            def link_ns(removed: int) -> int | None:
                return next(
                    (
                        c.receive_ns
                        for c in list(hal.commands)
                        if hal.published.get(c.observation_timestamp_ns, -1) >= removed
                    ),
                    None,
                )

            def linked_and_running(removed: int = removed) -> bool:
                return (
                    link_ns(removed) is not None and watcher.first(removed, 'running') is not None
                )

            recovered = wait_for(linked_and_running, RECOVERY_TIMEOUT_S)
            time.sleep(0.3)
            running = watcher.first(removed, 'running')
            link = link_ns(removed)
            cycles.append(
                {
                    'cause': kind,
                    'duration_s': pause_s if kind == 'pause' else outage_s,
                    'recovered': recovered,
                    'modes': watcher.sequence_since(start),
                    'link_s': None if link is None else (link - removed) / 1e9,
                    'running_s': None if running is None else (running - removed) / 1e9,
                }
            )
        commands = list(hal.commands)
        result = {
            'cycles': cycles,
            'safety': {
                'commands': len(commands),
                'all_finite': bool(all(np.isfinite(c.joint_positions).all() for c in commands)),
                'hal_rejections': hal.all_rejections(),
                'non_finite_blocked': 0,
                'controller_error': (
                    None if process.poll() is None else f'node exited with {process.returncode}'
                ),
                'hal_error': repr(hal.error) if hal.error else None,
            },
        }
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        result['node_exit_code'] = process.returncode
        watcher.close()
        hal.close()
    return result


DRILLS: dict[str, Callable[[], dict[str, Any]]] = {
    'hal_restart': drill_hal_restart,
    'pause': drill_pause,
    'timestamps': drill_timestamps,
    'malformed': drill_malformed,
    'policy': drill_policy,
    'node': drill_node,
}


def _recoveries(result: Any) -> list[dict[str, Any]]:
    """Return every dict with a running_s key inside a drill result."""
    found = []
    if isinstance(result, dict):
        if 'running_s' in result:
            found.append(result)
        for value in result.values():
            found.extend(_recoveries(value))
    elif isinstance(result, list):
        for value in result:
            found.extend(_recoveries(value))
    return found


def main() -> int:
    """Run every drill; print recovery times; write the JSON."""
    results: dict[str, Any] = {}
    for name, drill in DRILLS.items():
        results[name] = drill()
        for recovery in _recoveries(results[name]):
            cause = (
                f'outage {recovery["outage_s"]} s'
                if 'outage_s' in recovery
                else (
                    f'pause {recovery["pause_s"]} s'
                    if 'pause_s' in recovery
                    else recovery.get('cause', recovery.get('mode', ''))
                )
            )
            link = recovery['link_s']
            running_s = recovery['running_s']
            print(
                f'{name:<12} {cause:<14} recovered={recovery["recovered"]} link'
                f' {"n/a" if link is None else f"{link:.3f} s"}  policy'
                f' {"n/a" if running_s is None else f"{running_s:.3f} s"}'
                f'  modes {" -> ".join(recovery.get("modes_after") or recovery["modes"])}',
                flush=True,
            )
        print(f'{name:<12} safety {results[name]["safety"]}', flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1, default=str))
    print(f'wrote {RESULTS}')
    return 0


if __name__ == '__main__':
    sys.exit(main())

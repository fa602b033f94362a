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
Checks of a policy card against what is about to run it.

:func:`check_deployment` compares a card's contract with the deployment
(joint order, policy period, scan and base-velocity sources) and
:func:`check_card_against_checkpoint` compares a card with the checkpoint it
sits beside (sizes, format, trained flag). Each lists every difference at
once in a :class:`~krabby_parkour_ros.policy.errors.PolicyCardMismatchError`.
The card itself (schema, reader, writer) is
:mod:`krabby_parkour_ros.policy.card`.
"""

from __future__ import annotations

from collections.abc import Sequence
import math
from typing import TYPE_CHECKING

from krabby_parkour_ros.contract import PolicyContract
from krabby_parkour_ros.mapping.joint_order import joint_order_problems
from krabby_parkour_ros.policy.errors import PolicyCardMismatchError

if TYPE_CHECKING:
    from krabby_parkour_ros.policy.card import PolicyCard

#: Tolerance of the policy-period check (seconds).
PERIOD_TOLERANCE = 1e-9


def check_deployment(
    contract: PolicyContract,
    *,
    policy_joint_names: Sequence[str],
    control_rate_hz: float,
    policy_decimation: int,
    scan_available: bool,
    base_velocity_available: bool,
    has_estimator: bool,
) -> None:
    """
    Check that a deployment matches ``contract``; list every difference.

    :param policy_joint_names: the joint names the deployment feeds the
        policy, in the order it uses for observation and action.
    :param control_rate_hz: the node's control rate (ticks per second).
    :param policy_decimation: run the policy every this many control ticks.
    :param scan_available: a height scan source is configured.
    :param base_velocity_available: a measured base velocity is configured.
    :param has_estimator: the checkpoint carries a trained velocity estimator.
    :raises PolicyCardMismatchError: with one line per difference.
    """
    issues = joint_order_problems(contract, policy_joint_names, 'joints')
    issues.extend(_period_issues(contract, control_rate_hz, policy_decimation))
    if contract.scan_required and not scan_available:
        issues.append(
            f'height scan: the policy requires a {int(contract.scan_grid.size)}-point height scan'
            ' but none is provided'
        )
    if not base_velocity_available and not has_estimator:
        issues.append(
            'base velocity: no measured base velocity is provided and the '
            'checkpoint has no estimator to fill priv_explicit'
        )
    if issues:
        raise PolicyCardMismatchError(
            f'deployment does not match policy {contract.name!r}', issues
        )


def _period_issues(
    contract: PolicyContract, control_rate_hz: float, policy_decimation: int
) -> list[str]:
    """Return why the deployment's policy period is not the trained one (empty: it is)."""
    if not control_rate_hz > 0 or not math.isfinite(control_rate_hz):
        return [f'control rate must be a positive number of Hz, got {control_rate_hz!r}']
    if (
        isinstance(policy_decimation, bool)
        or not isinstance(policy_decimation, int)
        or policy_decimation < 1
    ):
        return [f'policy decimation must be an integer >= 1, got {policy_decimation!r}']
    period = policy_decimation / control_rate_hz
    if abs(period - contract.policy_period) <= PERIOD_TOLERANCE:
        return []
    suggestion = contract.policy_period * control_rate_hz
    if abs(suggestion - round(suggestion)) < 1e-6:
        hint = f' (use policy decimation {round(suggestion)})'
    else:
        hint = ' (no integer decimation fits this control rate)'
    return [
        f'policy period: the policy was trained at {contract.policy_period:.6g} s'
        f' ({contract.policy_rate:.6g} Hz: physics dt {contract.physics_dt:g} x'
        f' decimation {contract.decimation}) but the deployment runs it every'
        f' {policy_decimation} tick(s) of {control_rate_hz:.6g} Hz = {period:.6g} s{hint}'
    ]


def check_card_against_checkpoint(
    card: PolicyCard,
    *,
    obs_dim: int,
    action_dim: int,
    format_name: str,
    trained_marker: bool | None,
    where: str,
) -> None:
    """
    Check that ``card`` describes the loaded checkpoint; list every difference.

    :param trained_marker: the trained flag written into the checkpoint by
        this project's tools (None when the checkpoint carries none).
    :raises PolicyCardMismatchError: with one line per difference.
    """
    issues = []
    contract = card.contract
    if contract.layout.total != obs_dim:
        issues.append(
            f'observation size: card layout totals {int(contract.layout.total)} but the checkpoint'
            f' takes {int(obs_dim)}'
        )
    if contract.action_dim != action_dim:
        issues.append(
            f'action size: card lists {int(contract.action_dim)} joints but the checkpoint outputs'
            f' {int(action_dim)}'
        )
    if card.formats and format_name not in card.formats:
        issues.append(
            f'format: card describes {list(card.formats)} but the checkpoint is {format_name}'
        )
    if trained_marker is not None and trained_marker != contract.trained:
        issues.append(
            f'trained flag: card says trained={contract.trained} but the checkpoint is marked'
            f' trained={trained_marker}'
        )
    if issues:
        raise PolicyCardMismatchError(f'policy card {where}', issues)


__all__ = ['PERIOD_TOLERANCE', 'check_card_against_checkpoint', 'check_deployment']

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
The one check that a deployment feeds a policy its joints in the trained order.

Joint order is the most common deployment bug (``parkour-policy.md``): the
joint map (:meth:`~krabby_parkour_ros.mapping.joint_map.JointMap.validate_against`)
and the deployment check of a policy card
(:func:`~krabby_parkour_ros.policy.card_checks.check_deployment`) both ask
it here, so both say the same thing about the same mistake.
"""

from __future__ import annotations

from collections.abc import Sequence

from krabby_parkour_ros.contract import PolicyContract


def joint_order_problems(
    contract: PolicyContract, joint_names: Sequence[str], label: str
) -> list[str]:
    """
    Return what differs between ``joint_names`` and the contract's joint order.

    One line per problem, each starting with ``label``: a joint count that
    differs, contract joints that are absent (in contract order), names that
    are not contract joints, repeated names; or else the same joints in
    another order (which positions hold what). Empty when ``joint_names``
    equals the contract's order.

    :param contract: the policy's training contract.
    :param joint_names: the policy joint names a deployment uses, in its order.
    :param label: what the names are, for the messages (``policy.joints``).
    """
    expected = tuple(contract.joint_names)
    got = tuple(joint_names)
    if got == expected:
        return []
    name = contract.name
    problems = []
    if len(got) != len(expected):
        problems.append(f'{label}: contract {name!r} has {len(expected)} joints, got {len(got)}')
    missing = [n for n in expected if n not in got]
    if missing:
        problems.append(
            f'{label}: contract {name!r} joints not mapped (in contract order): {missing}'
        )
    extra = [n for n in got if n not in expected]
    if extra:
        problems.append(f'{label}: joints not in contract {name!r}: {extra}')
    repeated = sorted({n for n in got if got.count(n) > 1})
    if repeated:
        problems.append(f'{label}: repeated joints: {repeated}')
    if problems:
        return problems
    wrong = [i for i, (a, b) in enumerate(zip(got, expected)) if a != b]
    return [
        f'{label}: order must equal the contract order: positions {wrong} hold'
        f' {[got[i] for i in wrong]} but contract {name!r} has {[expected[i] for i in wrong]}'
        f' there (expected {list(expected)}, got {list(got)})'
    ]

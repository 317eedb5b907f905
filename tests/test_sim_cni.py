"""The VPC CNI pool rules, case by case from DOMAIN.md (ipamd's isDatastorePoolTooLow & co.)."""

from __future__ import annotations

import pytest

from ipfrag import InvalidArgument, InvalidType
from ipfrag.sim.cni import (
    CniConfig,
    PoolStats,
    pool_too_low,
    shortfall,
    units_to_add,
    units_to_release,
)

PD = CniConfig(prefix_delegation=True)
EMPTY = PoolStats(total=0, assigned=0, prefixes=0, free_prefixes=0)


def test_defaults_are_the_real_ones() -> None:
    cfg = CniConfig()
    assert (cfg.prefix_delegation, cfg.warm_eni_target, cfg.warm_prefix_target) == (False, 1, 1)
    assert cfg.warm_ip_target is None and cfg.minimum_ip_target is None
    assert cfg.backoff_seconds == 120.0
    assert not cfg.targets_defined


def test_warm_ip_target_5_on_empty_prefix_node_asks_for_one_prefix() -> None:
    cfg = CniConfig(prefix_delegation=True, warm_ip_target=5)
    assert pool_too_low(cfg, EMPTY, max_pods=110, ips_per_eni=9)
    assert shortfall(cfg, EMPTY, prefix_mode=True) == 1
    assert units_to_add(cfg, EMPTY, ips_per_eni=9) == 1


def test_minimum_ip_target_30_gives_two_prefixes() -> None:
    cfg = CniConfig(prefix_delegation=True, minimum_ip_target=30)
    assert units_to_add(cfg, EMPTY, ips_per_eni=9) == 2
    two = PoolStats(32, 0, 2, 2)
    assert not pool_too_low(cfg, two, max_pods=110, ips_per_eni=9)


def test_short_is_the_max_of_both_targets() -> None:
    # WARM_IP short 10 - 2 = 8; MIN_IP short 40 - 16 = 24 -> 24 addresses -> 2 prefixes
    cfg = CniConfig(prefix_delegation=True, warm_ip_target=10, minimum_ip_target=40)
    s = PoolStats(16, 14, 1, 0)
    assert shortfall(cfg, s, prefix_mode=True) == 2
    assert shortfall(cfg, s, prefix_mode=False) == 24


def test_warm_target_zero_keeps_one_prefix_and_grows_only_when_full() -> None:
    cfg = CniConfig(prefix_delegation=True, warm_prefix_target=0)
    assert pool_too_low(cfg, EMPTY, max_pods=110, ips_per_eni=9)
    for used in range(16):
        assert not pool_too_low(cfg, PoolStats(16, used, 1, used == 0), max_pods=110, ips_per_eni=9)
    assert pool_too_low(cfg, PoolStats(16, 16, 1, 0), max_pods=110, ips_per_eni=9)


def test_default_prefix_mode_keeps_a_whole_free_prefix() -> None:
    assert pool_too_low(PD, EMPTY, max_pods=110, ips_per_eni=9)
    assert not pool_too_low(PD, PoolStats(16, 0, 1, 1), max_pods=110, ips_per_eni=9)
    assert pool_too_low(PD, PoolStats(16, 1, 1, 0), max_pods=110, ips_per_eni=9)
    assert (
        units_to_add(CniConfig(prefix_delegation=True, warm_prefix_target=3), EMPTY, ips_per_eni=9)
        == 3
    )


def test_never_too_low_at_max_pods() -> None:
    full = PoolStats(112, 112, 7, 0)
    assert not pool_too_low(PD, full, max_pods=110, ips_per_eni=9)
    cfg = CniConfig(prefix_delegation=True, minimum_ip_target=500)
    assert not pool_too_low(cfg, full, max_pods=110, ips_per_eni=9)
    assert not pool_too_low(CniConfig(), PoolStats(29, 29), max_pods=29, ips_per_eni=9)


def test_secondary_mode_wants_a_whole_eni_of_ips() -> None:
    cfg = CniConfig()
    assert pool_too_low(cfg, EMPTY, max_pods=29, ips_per_eni=9)
    assert units_to_add(cfg, EMPTY, ips_per_eni=9) == 9
    assert not pool_too_low(cfg, PoolStats(9, 0), max_pods=29, ips_per_eni=9)
    assert pool_too_low(cfg, PoolStats(9, 1), max_pods=29, ips_per_eni=9)
    assert not pool_too_low(cfg, PoolStats(18, 1), max_pods=29, ips_per_eni=9)


def test_release_only_whole_free_prefixes_down_to_target() -> None:
    # 3 prefixes, 2 empty, target 1 -> release 1
    assert units_to_release(PD, PoolStats(48, 1, 3, 2), max_pods=110, ips_per_eni=9) == 1
    # every prefix holds a pod: nothing to release though 45 addresses are idle
    assert units_to_release(PD, PoolStats(48, 3, 3, 0), max_pods=110, ips_per_eni=9) == 0
    # target 0: an idle node keeps its last prefix (releasing it would make the pool too low)
    zero = CniConfig(prefix_delegation=True, warm_prefix_target=0)
    assert units_to_release(zero, PoolStats(16, 0, 1, 1), max_pods=110, ips_per_eni=9) == 0
    assert units_to_release(zero, PoolStats(48, 0, 3, 3), max_pods=110, ips_per_eni=9) == 2


def test_release_with_warm_ip_target_in_prefix_mode() -> None:
    cfg = CniConfig(prefix_delegation=True, warm_ip_target=5)
    # 3 prefixes, 1 pod: needed ceil((1 + 5)/16) = 1 -> 2 free prefixes over
    assert units_to_release(cfg, PoolStats(48, 1, 3, 2), max_pods=110, ips_per_eni=9) == 2
    cfg = CniConfig(prefix_delegation=True, warm_ip_target=5, minimum_ip_target=40)
    assert units_to_release(cfg, PoolStats(64, 1, 4, 3), max_pods=110, ips_per_eni=9) == 1


def test_secondary_mode_never_releases_single_ips_with_only_warm_eni_target() -> None:
    assert units_to_release(CniConfig(), PoolStats(27, 0), max_pods=29, ips_per_eni=9) == 0
    # with WARM_IP_TARGET it does: 18 held, 1 used, keep 5 free -> 12 over
    cfg = CniConfig(warm_ip_target=5)
    assert units_to_release(cfg, PoolStats(18, 1), max_pods=29, ips_per_eni=9) == 12


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"warm_prefix_target": -1}, InvalidArgument),
        ({"warm_eni_target": -2}, InvalidArgument),
        ({"warm_ip_target": -5}, InvalidArgument),
        ({"minimum_ip_target": "3"}, InvalidType),
        ({"prefix_delegation": 1}, InvalidType),
        ({"flavour": "calico"}, InvalidArgument),
        ({"backoff_seconds": -1.0}, InvalidArgument),
        ({"warm_prefix_target": True}, InvalidType),
    ],
)
def test_bad_settings_raise_typed_errors(kwargs: dict[str, object], error: type) -> None:
    with pytest.raises(error):
        CniConfig(**kwargs)  # type: ignore[arg-type]

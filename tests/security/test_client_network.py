"""The visitor's network: IPv4-mapped IPv6 addresses count as IPv4, in the log and in limits."""

from __future__ import annotations

import pytest
from flask import Flask

from zgoda.web.client import client_facts, ip_prefix, rate_limit_key

GARBAGE = [
    None,
    "",
    "unknown",
    "203.0.113.777",
    "203.0.113",
    "203.0.113.77:8080",
    " 203.0.113.77",
    "[2001:db8::1]",
    "2001:db8::1/64",
    "::ffff:203.0.113.777",
    "2001:db8::1::2",
]


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("203.0.113.77", "203.0.113.0/24"),
        ("::ffff:203.0.113.77", "203.0.113.0/24"),
        ("::FFFF:203.0.113.77", "203.0.113.0/24"),
        ("::ffff:cb00:714d", "203.0.113.0/24"),  # the same address, written in hex
        ("0:0:0:0:0:ffff:203.0.113.77", "203.0.113.0/24"),
        ("2001:db8:abcd:12:1:2:3:4", "2001:db8:abcd::/48"),
        ("::1", "::/48"),
    ],
)
def test_the_log_keeps_the_ipv4_network_of_a_mapped_address(address: str, network: str) -> None:
    assert ip_prefix(address, "truncate") == network
    assert ip_prefix(address, "drop") is None


@pytest.mark.parametrize("address", GARBAGE)
def test_the_log_keeps_no_network_for_garbage(address: str | None) -> None:
    assert ip_prefix(address, "truncate") is None


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.77", "203.0.113.77"),
        ("::ffff:203.0.113.77", "203.0.113.77"),
        ("::ffff:cb00:714d", "203.0.113.77"),
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2::1", "2001:db8:1:2::/64"),
        ("fe80::1%eth0", "fe80::/64"),
    ],
)
def test_a_rate_limit_counts_an_ipv4_address_or_an_ipv6_64(address: str, key: str) -> None:
    assert rate_limit_key(address) == key


def test_addresses_in_one_64_share_a_key_and_others_do_not() -> None:
    same = {
        rate_limit_key(address)
        for address in ("2001:db8:1:2::1", "2001:db8:1:2:ffff::1", "2001:db8:1:2:1:2:3:4")
    }
    assert same == {"2001:db8:1:2::/64"}
    neighbours = {
        rate_limit_key(address)
        for address in ("2001:db8:1:2::1", "2001:db8:1:3::1", "2001:db8:2:2::1", "2001:db9:1:2::1")
    }
    assert len(neighbours) == 4


def test_ipv4_addresses_each_have_their_own_key() -> None:
    keys = {rate_limit_key(f"203.0.113.{host}") for host in range(256)}
    assert len(keys) == 256
    assert rate_limit_key("::ffff:203.0.113.1") in keys


@pytest.mark.parametrize("address", GARBAGE)
def test_garbage_is_counted_as_unknown(address: str | None) -> None:
    assert rate_limit_key(address) == "unknown"


def test_a_request_from_a_mapped_address_is_logged_as_its_ipv4_network(app: Flask) -> None:
    with app.test_request_context(environ_base={"REMOTE_ADDR": "::ffff:198.51.100.23"}):
        assert client_facts().ip_prefix == "198.51.100.0/24"

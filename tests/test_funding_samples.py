"""The acceptance test of the funding job: every sample of ../shared/platforms
loaded, replayed and funded gives exactly the verdicts and balances of
expected.json, whatever order the platforms arrive in."""

from __future__ import annotations

import json
import random

import pytest

from tests import samples
from tests.conftest import HubCli


def load_world(hub_cli: HubCli, platform_order: list[str]) -> None:
    hub_cli("platforms", "load", samples.PLATFORMS_DIR / "credentials.json")
    hub_cli("participants", "import", samples.PLATFORMS_DIR / "participants.csv")
    for platform in samples.PLATFORMS:
        hub_cli("catalogue", "import", platform, *samples.catalogue_files(platform))
    for platform in platform_order:
        if platform == "maubelajarapa":
            pages = samples.numbered(list(samples.samples(platform, "orders").glob("page-*.json")))
            hub_cli("orders", "poll", platform, *pages)
        else:
            hub_cli("webhooks", "replay", platform, samples.samples(platform, "webhooks"))


ORDERS = {
    "in order": samples.PLATFORMS,
    "reversed": samples.PLATFORMS[::-1],
    "shuffled": random.Random(2020).sample(samples.PLATFORMS, len(samples.PLATFORMS)),
}


@pytest.mark.parametrize("order", ORDERS, ids=list(ORDERS))
def test_the_samples_give_every_verdict_and_balance_of_expected_json(hub_cli: HubCli, order: str) -> None:
    load_world(hub_cli, ORDERS[order])
    hub_cli("reconcile", "funding", "--wait")

    got = {
        (r["platform"], r["order_id"]): r
        for r in map(json.loads, hub_cli("orders", "list", "--json").stdout.split("\n")[:-1])
    }
    expected_orders = samples.expected()["orders"]
    assert len(got) == len(expected_orders)
    wrong = [
        (o["platform"], o["order_id"], o["funding"], got[(o["platform"], o["order_id"])]["funding"])
        for o in expected_orders
        if (got[(o["platform"], o["order_id"])]["funding"], got[(o["platform"], o["order_id"])]["refunded"],
            got[(o["platform"], o["order_id"])]["completed"]) != (o["funding"], o["refunded"], o["completed"])
    ]  # fmt: skip
    assert wrong == []

    balances = {
        r["card_number"]: r["balance_idr"]
        for r in map(json.loads, hub_cli("balances", "--json").stdout.split("\n")[:-1])
    }
    register = samples.PLATFORMS_DIR.joinpath("participants.csv").read_text().splitlines()[1:]
    assert len(balances) == len(register)
    expected_balances = samples.expected()["balances"]
    for card, balance in balances.items():
        assert balance == expected_balances.get(card, 1_000_000), card

    # Decisions are final: running again changes nothing, and the ledger agrees with itself.
    again = json.loads(hub_cli("reconcile", "funding", "--json").stdout)
    assert again["decided"] == 0 and again["refunds"] == 0
    assert "ledger consistent" in hub_cli("ledger", "verify").stdout

"""`stockd replenish`, `stockd po ...` and `stockd suppliers stats` as a user runs them, in real processes."""

from __future__ import annotations

import re

import pytest

from stockd.bootstrap import Stockd
from stockd.service_layer.env import SYSTEM
from stockd.service_layer.policies import PolicyOverride, override_policy
from tests.e2e.test_server import run_cli
from tests.support.replenishment import setup_catalog


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_buyer_replenishes_from_the_command_line(services: Stockd) -> None:
    await setup_catalog(services, {"TEE": ("ACME", 5), "MUG": ("ACME", 500)}, pack_size=12, min_order=24)
    await services.runner.run(lambda uow: override_policy(uow, services.env, SYSTEM, "TEE", "WH",
                                                          PolicyOverride(static_reorder_point=30)))
    url = services.settings.database_url

    real = run_cli("replenish", url=url)
    po_id = re.search(r"drafted PO (\S+) to ACME", real.stdout)
    assert real.returncode == 0 and po_id, real.stdout + real.stderr
    assert "TEE @ WH: 36 x 4.0000" in real.stdout, "order up to 31 -> 3 packs of 12"
    assert "MUG" not in real.stdout, "500 on hand: nothing to order"
    sent = run_cli("po", "send", po_id.group(1), url=url)
    assert sent.returncode == 0, sent.stderr
    received = run_cli("po", "receive", po_id.group(1), "--line", "TEE:WH=12", url=url)
    assert received.returncode == 0 and "partially_received" in received.stderr, received.stderr
    listed = run_cli("po", "list", url=url)
    assert f"{po_id.group(1)}  ACME" in listed.stdout and "12/36 units" in listed.stdout
    stats = run_cli("suppliers", "stats", url=url)
    assert "ACME" in stats.stdout and "receipts 1" in stats.stdout and "on time 100%" in stats.stdout

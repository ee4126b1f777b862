"""Demo data for the quick start: a few locations, SKUs and some stock, through the real use cases."""

from __future__ import annotations

from decimal import Decimal

from stockd.bootstrap import Stockd
from stockd.domain.catalog import LocationKind
from stockd.domain.transfers import TransferLine
from stockd.service_layer import catalog, commands, stock
from stockd.service_layer.env import SYSTEM
from stockd.service_layer.ports import UnitOfWork

LOCATIONS = [
    ("WH-EAST", "East warehouse (Newark)", LocationKind.WAREHOUSE),
    ("WH-WEST", "West warehouse (Reno)", LocationKind.WAREHOUSE),
    ("STORE-NYC", "Flagship store, New York", LocationKind.STORE),
    ("3PL-CHI", "3PL partner, Chicago", LocationKind.THIRD_PARTY),
]

# sku, name, unit cost, price, on hand per location (in LOCATIONS order)
PRODUCTS = [
    ("TEE-BLK-M", "Classic tee, black, M", "4.10", "19.00", (120, 80, 15, 200)),
    ("TEE-WHT-M", "Classic tee, white, M", "4.10", "19.00", (90, 60, 10, 0)),
    ("HOODIE-GRY-L", "Zip hoodie, grey, L", "14.50", "59.00", (40, 25, 6, 30)),
    ("CAP-NVY", "Dad cap, navy", "3.20", "24.00", (300, 150, 40, 0)),
    ("MUG-LOGO", "Logo mug 350ml", "2.75", "14.00", (75, 0, 20, 60)),
    ("BOTTLE-STEEL", "Steel bottle 750ml", "6.90", "32.00", (5, 12, 2, 0)),
    ("SOCK-3PK", "Sport socks, 3-pack", "2.10", "12.00", (500, 420, 35, 900)),
    ("BAG-TOTE", "Canvas tote", "3.80", "22.00", (0, 0, 0, 0)),
]


async def load_demo(stockd: Stockd, if_empty: bool = True) -> bool:
    """Create the demo catalogue and receive its stock in one transaction; False if data already exists."""

    async def seed(uow: UnitOfWork) -> bool:
        if if_empty and await uow.products.list(1, 0):
            return False
        env = stockd.env
        for code, name, kind in LOCATIONS:
            await catalog.create_location(uow, env, SYSTEM, commands.CreateLocation(code, name, kind))
        for sku, name, cost, price, _ in PRODUCTS:
            product = commands.CreateProduct(sku, name, Decimal(cost), Decimal(price))
            await catalog.create_product(uow, env, SYSTEM, product)
        for index, (code, _, _) in enumerate(LOCATIONS):
            lines = tuple(TransferLine(p[0], p[4][index]) for p in PRODUCTS if p[4][index] > 0)
            await stock.receive(uow, env, SYSTEM, commands.Receive(code, lines, reference="demo opening stock"))
        return True

    return await stockd.runner.run(seed)

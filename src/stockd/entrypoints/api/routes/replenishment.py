"""Replenishment: suppliers and what they sell, reorder policies, forecasts, the run, purchase orders, budgets."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from stockd.domain.errors import IdempotencyKeyReusedError, UnknownLocationError, UnknownProductError
from stockd.domain.replenishment import Budget, PoStatus, SupplierProduct
from stockd.domain.security import ForbiddenError
from stockd.entrypoints.api.deps import IdempotencyDep, Purchaser, Reader, StockdDep, respond
from stockd.entrypoints.api.replenishment_schemas import (
    BudgetIn,
    BudgetOut,
    Currency,
    ForecastOut,
    PolicyChangeOut,
    PolicyIn,
    PolicyOut,
    PoReceiveIn,
    PurchaseOrderOut,
    ReliabilityOut,
    RunIn,
    RunOut,
    SupplierIn,
    SupplierOut,
    SupplierPatch,
    SupplierProductIn,
    SupplierProductOut,
)
from stockd.entrypoints.api.schemas import CONFLICT, Code
from stockd.service_layer import policies, purchasing
from stockd.service_layer.ports import StoredResponse, UnitOfWork
from stockd.service_layer.replenishment import forecast_of, replenish, run_summary
from stockd.service_layer.runner import Outcome

router = APIRouter(tags=["replenishment"])
PoId = Path(max_length=64, pattern=r"^[A-Za-z0-9\-]+$")
Period = Path(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")
Limit = Annotated[int, Query(ge=1, le=1000)]


@router.post("/suppliers", status_code=201, response_model=SupplierOut, responses=CONFLICT)
async def create_supplier(body: SupplierIn, stockd: StockdDep, actor: Purchaser, idem: IdempotencyDep) -> JSONResponse:
    outcome = await stockd.runner.write(
        lambda uow: purchasing.create_supplier(uow, stockd.env, actor, body.code, body.fields()),
        SupplierOut.render, 201, idem)
    return respond(outcome)


@router.get("/suppliers", response_model=list[SupplierOut])
async def list_suppliers(stockd: StockdDep, _: Reader) -> list[SupplierOut]:
    return [SupplierOut.of(s) for s in await stockd.runner.run(lambda uow: uow.replenishment.list_suppliers())]


@router.get("/suppliers/{code}", response_model=SupplierOut)
async def get_supplier(code: Code, stockd: StockdDep, _: Reader) -> SupplierOut:
    return SupplierOut.of(await stockd.runner.run(lambda uow: purchasing.get_supplier(uow, code)))


@router.patch("/suppliers/{code}", response_model=SupplierOut)
async def update_supplier(
    code: Code, body: SupplierPatch, stockd: StockdDep, actor: Purchaser, idem: IdempotencyDep
) -> JSONResponse:
    outcome = await stockd.runner.write(
        lambda uow: purchasing.update_supplier(uow, stockd.env, actor, code, body.fields()),
        SupplierOut.render, 200, idem)
    return respond(outcome)


@router.get("/suppliers/{code}/stats", response_model=ReliabilityOut)
async def supplier_stats(code: Code, stockd: StockdDep, _: Reader) -> ReliabilityOut:
    """On-time rate and lead time measured from receipts (the promise until there are two)."""
    return ReliabilityOut.of(await stockd.runner.run(lambda uow: purchasing.reliability(uow, code)))


@router.put("/suppliers/{code}/products/{sku}", response_model=SupplierProductOut, responses=CONFLICT)
async def link_product(
    code: Code, sku: Code, body: SupplierProductIn, stockd: StockdDep, actor: Purchaser, idem: IdempotencyDep
) -> JSONResponse:
    """What this supplier sells of a SKU: cost, pack size, minimum order, primary or backup."""
    link = SupplierProduct(code, sku, body.unit_cost, body.pack_size, body.min_order, body.priority, body.active)
    outcome = await stockd.runner.write(
        lambda uow: purchasing.link_product(uow, stockd.env, actor, link), SupplierProductOut.render, 200, idem)
    return respond(outcome)


@router.get("/suppliers/{code}/products", response_model=list[SupplierProductOut])
async def supplier_products(code: Code, stockd: StockdDep, _: Reader) -> list[SupplierProductOut]:
    async def read(uow: UnitOfWork) -> list[SupplierProduct]:
        await purchasing.get_supplier(uow, code)
        return await uow.replenishment.links(supplier=code)

    return [SupplierProductOut.of(ln) for ln in await stockd.runner.run(read)]


@router.get("/reorder-policies", response_model=list[PolicyOut])
async def list_policies(stockd: StockdDep, actor: Reader, sku: Code | None = None) -> list[PolicyOut]:
    found = await stockd.runner.run(lambda uow: uow.replenishment.list_policies(sku))
    return [PolicyOut.of(p) for p in found if actor.may_touch(p.location)]


@router.get("/reorder-policies/{sku}/{location}", response_model=PolicyOut)
async def get_policy(sku: Code, location: Code, stockd: StockdDep, actor: Reader) -> PolicyOut:
    return PolicyOut.of(await stockd.runner.run(lambda uow: policies.get_policy(uow, actor, sku, location)))


@router.put("/reorder-policies/{sku}/{location}", response_model=PolicyOut)
async def set_policy(
    sku: Code, location: Code, body: PolicyIn, stockd: StockdDep, actor: Purchaser, idem: IdempotencyDep
) -> JSONResponse:
    """Service level, order method (cover or eoq), cover days, and static overrides (-1 clears one)."""
    cfg = stockd.replenishment
    outcome = await stockd.runner.write(
        lambda uow: policies.override_policy(uow, stockd.env, actor, sku, location, body.override(),
                                             cfg.default_service_level, cfg.default_cover_days),
        PolicyOut.render, 200, idem)
    return respond(outcome)


@router.get("/reorder-policies/{sku}/{location}/changes", response_model=list[PolicyChangeOut])
async def policy_changes(
    sku: Code, location: Code, stockd: StockdDep, actor: Reader, limit: Limit = 100
) -> list[PolicyChangeOut]:
    """Every change of the reorder point or service level, newest first, with its reason."""
    actor.check_locations([location])
    found = await stockd.runner.run(lambda uow: uow.replenishment.changes(sku, location, limit))
    return [PolicyChangeOut.of(c) for c in found]


@router.get("/forecasts/{sku}/{location}", response_model=ForecastOut)
async def forecast(sku: Code, location: Code, stockd: StockdDep, actor: Reader) -> ForecastOut:
    """Sales velocity from the ledger, the forecast method chosen for its demand class, and its accuracy."""
    actor.check_locations([location])

    async def known(uow: UnitOfWork) -> None:
        if await uow.products.get(sku) is None:
            raise UnknownProductError(sku)
        if await uow.locations.get(location) is None:
            raise UnknownLocationError(location)

    await stockd.runner.run(known)
    found, _ = await forecast_of(stockd.runner, stockd.env, stockd.forecaster, stockd.replenishment, sku, location)
    return ForecastOut.of(sku, location, found)


@router.post("/replenishment/run", response_model=RunOut)
async def run(body: RunIn, stockd: StockdDep, actor: Purchaser, idem: IdempotencyDep) -> JSONResponse:
    """Flag late POs, then draft one PO per supplier for what is at or below its reorder point (counting
    in-transit), trimmed to the period's budget. A replayed Idempotency-Key returns the first answer."""
    if actor.locations is not None:
        raise ForbiddenError(f"key {actor.name} is scoped to some locations; a replenishment run spans all of them")
    if idem is not None:
        stored = await stockd.runner.run(lambda uow: uow.idempotency.get(idem.scope, idem.key))
        if stored is not None:
            if stored.fingerprint != idem.fingerprint:
                raise IdempotencyKeyReusedError()
            return respond(Outcome(stored.status, stored.body, replayed=True))
    late = [] if body.dry_run else await stockd.runner.run(lambda uow: purchasing.flag_late_pos(uow, stockd.env))
    result = await replenish(stockd.runner, stockd.env, actor, stockd.forecaster, stockd.replenishment,
                             body.dry_run)
    answer: dict[str, Any] = RunOut(**run_summary(result), late_purchase_orders=[po.id for po in late]).model_dump(
        mode="json")
    if idem is not None:
        saved = StoredResponse(idem.fingerprint, 200, answer)
        await stockd.runner.run(lambda uow: uow.idempotency.save(idem.scope, idem.key, saved, stockd.env.clock.now()))
    return JSONResponse(answer)


@router.get("/replenishment/runs", response_model=list[RunOut])
async def list_runs(stockd: StockdDep, _: Reader, limit: Annotated[int, Query(ge=1, le=100)] = 20) -> list[RunOut]:
    """Past runs, newest first, with what each drafted and what the budget cut."""
    return [RunOut(**body) for body in await stockd.runner.run(lambda uow: uow.replenishment.list_runs(limit))]


@router.get("/purchase-orders", response_model=list[PurchaseOrderOut])
async def list_pos(
    stockd: StockdDep, actor: Reader, status: PoStatus | None = None, supplier: Code | None = None, limit: Limit = 100,
) -> list[PurchaseOrderOut]:
    found = await stockd.runner.run(lambda uow: uow.replenishment.list_pos(status, supplier, limit))
    return [PurchaseOrderOut.of(po) for po in found if all(actor.may_touch(ln.location) for ln in po.lines)]


@router.get("/purchase-orders/{po_id}", response_model=PurchaseOrderOut)
async def get_po(stockd: StockdDep, actor: Reader, po_id: str = PoId) -> PurchaseOrderOut:
    po = await stockd.runner.run(lambda uow: purchasing.get_po(uow, po_id))
    actor.check_locations(ln.location for ln in po.lines)
    return PurchaseOrderOut.of(po)


@router.post("/purchase-orders/{po_id}/send", response_model=PurchaseOrderOut, responses=CONFLICT)
async def send_po(stockd: StockdDep, actor: Purchaser, idem: IdempotencyDep, po_id: str = PoId) -> JSONResponse:
    """Draft -> sent: quantities go in transit at their locations; the expected date is set from the promise."""
    outcome = await stockd.runner.write(lambda uow: purchasing.send_po(uow, stockd.env, actor, po_id),
                                        PurchaseOrderOut.render, 200, idem)
    return respond(outcome)


@router.post("/purchase-orders/{po_id}/receive", response_model=PurchaseOrderOut, responses=CONFLICT)
async def receive_po(
    body: PoReceiveIn, stockd: StockdDep, actor: Purchaser, idem: IdempotencyDep, po_id: str = PoId
) -> JSONResponse:
    """Goods arrived: in_transit becomes on_hand per line; partially or fully received. More than is outstanding
    on a line is refused (422) and nothing changes."""
    threshold = stockd.replenishment.late_deliveries_before_switch
    outcome = await stockd.runner.write(
        lambda uow: purchasing.receive_po(uow, stockd.env, actor, po_id, body.quantities(), threshold),
        PurchaseOrderOut.render, 200, idem)
    return respond(outcome)


@router.post("/purchase-orders/{po_id}/cancel", response_model=PurchaseOrderOut, responses=CONFLICT)
async def cancel_po(stockd: StockdDep, actor: Purchaser, idem: IdempotencyDep, po_id: str = PoId) -> JSONResponse:
    """A draft is dropped; a sent PO gives back what is still in transit."""
    outcome = await stockd.runner.write(lambda uow: purchasing.cancel_po(uow, stockd.env, actor, po_id),
                                        PurchaseOrderOut.render, 200, idem)
    return respond(outcome)


@router.get("/budgets", response_model=list[BudgetOut])
async def list_budgets(stockd: StockdDep, _: Reader) -> list[BudgetOut]:
    return [BudgetOut(**b.__dict__) for b in await stockd.runner.run(lambda uow: uow.replenishment.budgets())]


@router.put("/budgets/{period}/{currency}", response_model=BudgetOut)
async def set_budget(
    body: BudgetIn, stockd: StockdDep, actor: Purchaser, idem: IdempotencyDep, currency: Currency,
    period: str = Period,
) -> JSONResponse:
    """What may be spent on purchase orders drafted in a month (YYYY-MM), per currency."""
    budget = Budget(period, currency, body.amount)

    async def save(uow: UnitOfWork) -> Budget:
        await uow.replenishment.set_budget(budget, stockd.env.clock.now())
        return budget

    outcome = await stockd.runner.write(save, lambda b: BudgetOut(**b.__dict__).model_dump(mode="json"), 200, idem)
    return respond(outcome)

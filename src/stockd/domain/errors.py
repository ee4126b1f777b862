"""Domain errors: each names the business rule that was broken. The API maps them to 4xx bodies."""

from __future__ import annotations

from dataclasses import dataclass


class StockdError(Exception):
    """Base of every error a caller can cause; never a bug."""

    code = "stockd_error"


class NotFoundError(StockdError):
    code = "not_found"


class UnknownProductError(NotFoundError):
    code = "unknown_sku"

    def __init__(self, sku: str) -> None:
        super().__init__(f"unknown SKU {sku!r}")
        self.sku = sku


class UnknownLocationError(NotFoundError):
    code = "unknown_location"

    def __init__(self, location: str) -> None:
        super().__init__(f"unknown location {location!r}")
        self.location = location


class ReservationNotFoundError(NotFoundError):
    code = "reservation_not_found"

    def __init__(self, reservation_id: str) -> None:
        super().__init__(f"no reservation {reservation_id!r}")


class TransferNotFoundError(NotFoundError):
    code = "transfer_not_found"

    def __init__(self, transfer_id: str) -> None:
        super().__init__(f"no transfer {transfer_id!r}")


class ConflictError(StockdError):
    code = "conflict"


class AlreadyExistsError(ConflictError):
    code = "already_exists"


@dataclass(frozen=True)
class Shortfall:
    sku: str
    location: str
    requested: int
    available: int


class InsufficientStockError(ConflictError):
    """Not enough available stock for at least one line; nothing was changed."""

    code = "insufficient_stock"

    def __init__(self, shortfalls: list[Shortfall]) -> None:
        self.shortfalls = shortfalls
        parts = [
            f"{s.sku} at {s.location}: requested {s.requested}, available {s.available}" for s in shortfalls
        ]
        super().__init__("insufficient stock: " + "; ".join(parts))


class SkuFrozenError(ConflictError):
    """The SKU is frozen at this location (a count is under investigation): it takes no new reservations."""

    code = "sku_frozen"

    def __init__(self, sku: str, location: str) -> None:
        super().__init__(
            f"{sku} is frozen at {location} until a manager resolves its count; it takes no new reservations"
        )
        self.sku = sku
        self.location = location


class InvalidStateError(ConflictError):
    """The operation is not allowed from the object's current state (e.g. commit a released reservation)."""

    code = "invalid_state"


class ReservationExpiredError(InvalidStateError):
    code = "reservation_expired"

    def __init__(self, reservation_id: str) -> None:
        super().__init__(f"reservation {reservation_id!r} has expired; its stock was released")


class IdempotencyKeyReusedError(ConflictError):
    code = "idempotency_key_reused"

    def __init__(self) -> None:
        super().__init__("this Idempotency-Key was already used with a different request")


class ValidationError(StockdError):
    """A request that is well-formed but breaks a business rule about its own content."""

    code = "invalid_request"

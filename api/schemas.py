"""The Coupon API's request and answer shapes (and so its OpenAPI schema)."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from ninja import Field, Schema
from pydantic import AfterValidator, StrictInt, StrictStr


def order_id_text(value: str) -> str:
    # PostgreSQL text cannot hold NUL: refused here, not as a failed query. A blank id names no order.
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    if not value.strip():
        raise ValueError("must not be blank")
    return value


class Error(Schema):
    code: str = Field(examples=["not_held"])
    message: str


class ErrorOut(Schema):
    error: Error


class IssueIn(Schema):
    user_ids: list[StrictInt] = Field(min_length=1, description="Member ids, at most 10,000; integers only.")


class IssueOut(Schema):
    issued: int = Field(description="Coupons newly issued.")
    reissued: int = Field(description="Revoked coupons issued again.")
    already_held: int = Field(description="Members who already held the coupon: nothing changed for them.")
    held_out: list[int] = Field(
        default_factory=list,
        description="Ids in the coupon's control group (the same members in every call and run): never issued.",
    )
    invalid: list[int] = Field(
        description="Ids that cannot be members (zero, negative, beyond 2^63−1); nothing issued for them."
    )


class Discount(Schema):
    kind: str = Field(examples=["percent", "amount"])
    amount: Decimal


class WalletCoupon(Schema):
    code: str
    name: str
    discount: Discount
    issued_at: datetime
    expires_at: datetime
    status: str = Field(examples=["usable", "used", "revoked", "expired"])


class WalletOut(Schema):
    user_id: int
    coupons: list[WalletCoupon]


class OrderIn(Schema):
    order_id: Annotated[StrictStr, AfterValidator(order_id_text)] = Field(min_length=1, max_length=100)


class RedeemOut(Schema):
    code: str
    user_id: int
    order_id: str
    redeemed_at: datetime
    status: str = "used"


class ReleaseOut(Schema):
    code: str
    user_id: int
    status: str = Field(examples=["usable", "expired"])

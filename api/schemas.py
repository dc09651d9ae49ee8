"""The Coupon API's request and answer shapes (and so its OpenAPI schema)."""

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from ninja import Field, Schema
from pydantic import AfterValidator, BeforeValidator, StrictInt, StrictStr
from pydantic.json_schema import SkipJsonSchema

from .parsing import refuse_too_long_number

# An order id holds a character other than whitespace, and no NUL (PostgreSQL text cannot hold one): the
# server checks this very pattern with Python's `re`, so the schema's promise and the check are one rule.
ORDER_ID_PATTERN = r"^[^\x00]*[^\s\x00][^\x00]*$"


def order_id_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    if not re.fullmatch(ORDER_ID_PATTERN, value):
        raise ValueError("must not be blank")
    return value


class Error(Schema):
    code: str = Field(examples=["not_held"])
    message: str
    problems: list["Problem"] | SkipJsonSchema[None] = Field(
        None, description="With `invalid_request`: every field the schema refused, and why."
    )
    scope: str | SkipJsonSchema[None] = Field(None, description="With `missing_scope`: the scope the call needs.")


class Problem(Schema):
    field: str = Field(examples=["user_ids.0"])
    message: str


class ErrorOut(Schema):
    error: Error


MemberIdIn = Annotated[StrictInt, BeforeValidator(refuse_too_long_number)]


class IssueIn(Schema):
    # maxItems is API_ISSUE_MAX_IDS, written into the schema when it is served (api.openapi).
    user_ids: list[MemberIdIn] = Field(
        min_length=1,
        description="Member ids, integers only. Ids that cannot be members (zero, negative, beyond 2^63−1) are "
        "not an error: the answer lists them in `invalid`.",
    )


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
    order_id: Annotated[StrictStr, AfterValidator(order_id_text)] = Field(
        min_length=1,
        max_length=100,
        json_schema_extra={"pattern": ORDER_ID_PATTERN},
        description="The order's id: 1 to 100 characters, not only whitespace, no NUL character.",
    )


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

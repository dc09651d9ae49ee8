"""The Coupon API's OpenAPI schema, with what only the settings know written in when it is served.

`API_ISSUE_MAX_IDS` and `API_MAX_BODY_BYTES` are read at call time (never at import), so the schema says
the limits the server applies now. tests/test_api_contract.py runs schemathesis against it under gunicorn:
a schema that promises more than the server accepts fails there.
"""

from django.conf import settings
from ninja import NinjaAPI

from .parsing import JsonParser

DESCRIPTION = """Issue, look up, redeem and release coupons (docs/api.md).

Every call sends `Authorization: Bearer <key>`; every error is `{{"error": {{"code", "message"}}}}`.

**Idempotency.** An issue call carries an `Idempotency-Key`: one new key per logical call, the same key on
every retry of it. The same key with the same request gives the stored answer; **the same key with another
request (another coupon, other ids, even other formatting of the body) is refused with 422
`idempotency_key_reused`** — a rule of the protocol, not a fault; a call with the key still running → 409.

**Limits.** A request line (method, path and query) of at most 4,094 bytes: longer ones are refused by the
web server itself (gunicorn's `limit_request_line`) with an HTML 414 before the API sees them. A body of at
most {body:,} bytes (413), {ids:,} ids per issue call (422).
"""


class CouponApi(NinjaAPI):
    def get_openapi_schema(self, **kwargs):
        schema = super().get_openapi_schema(**kwargs)
        schema["info"]["description"] = DESCRIPTION.format(
            body=settings.API_MAX_BODY_BYTES, ids=settings.API_ISSUE_MAX_IDS
        )
        issue_in = schema["components"]["schemas"]["IssueIn"]["properties"]["user_ids"]
        issue_in["maxItems"] = settings.API_ISSUE_MAX_IDS
        add_links(schema)
        return schema


# What one answer tells the next call (OpenAPI links): a coupon in a wallet can be redeemed, a redeem released.
LINKS = {
    "api_views_wallet": {
        "RedeemTheFirstCoupon": {
            "operationId": "api_views_redeem",
            "parameters": {"user_id": "$response.body#/user_id", "code": "$response.body#/coupons/0/code"},
        },
    },
    "api_views_redeem": {
        "ReleaseTheRedeem": {
            "operationId": "api_views_release",
            "parameters": {"user_id": "$response.body#/user_id", "code": "$response.body#/code"},
            "requestBody": {"order_id": "$response.body#/order_id"},
        },
    },
}


def add_links(schema):
    for methods in schema["paths"].values():
        for operation in methods.values():
            links = LINKS.get(operation.get("operationId"))
            if links:
                operation["responses"][200]["links"] = links  # ninja keys responses by int


def coupon_api(**kwargs) -> CouponApi:
    return CouponApi(parser=JsonParser(), **kwargs)

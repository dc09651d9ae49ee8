"""The Coupon API, /api/v1/: thin operations over api.services and api.selectors."""

import hashlib
import logging
from typing import Annotated, Literal

from django.conf import settings
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Header, Status
from ninja import Path as PathParam
from ninja.errors import AuthenticationError, HttpError, ValidationError
from pydantic import BeforeValidator

from common.routers import replica_reads
from distribution.models import MEMBER_ID_MAX, Coupon

from . import selectors, services
from .auth import ApiKey
from .errors import ApiError, error_response
from .openapi import coupon_api
from .parsing import path_member_id
from .schemas import ErrorOut, IssueIn, IssueOut, OrderIn, RedeemOut, ReleaseOut, WalletOut

logger = logging.getLogger("couponops.api")

api = coupon_api(title="couponops Coupon API", version="1", urls_namespace="api-v1")

UserId = Annotated[
    int,
    BeforeValidator(path_member_id),
    PathParam(gt=0, le=MEMBER_ID_MAX, description="A member id: a positive 64-bit integer, in plain digits."),
]
CODE_MAX = Coupon._meta.get_field("code").max_length
CouponCode = Annotated[str, PathParam(min_length=1, max_length=CODE_MAX, description="The coupon's code.")]
# Visible ASCII, no space at either end: what an HTTP header carries unchanged (RFC 9110 field values).
IDEMPOTENCY_KEY_PATTERN = r"^[!-~]([ -~]*[!-~])?$"
IdempotencyKeyHeader = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description="One new key per logical call, the same on every retry of it (1 to 255 visible ASCII "
        "characters). The same key with another request is refused: 422 `idempotency_key_reused`.",
    ),
]
ERRORS = dict.fromkeys((400, 401, 403, 404, 409, 410, 411, 413, 422), ErrorOut)


@api.post("/coupons/{code}/issue", auth=ApiKey("issue"), response={200: IssueOut, **ERRORS})
def issue(request, code: CouponCode, body: IssueIn, idempotency_key: IdempotencyKeyHeader):
    """Issues the coupon to up to API_ISSUE_MAX_IDS members; one logical call per `Idempotency-Key`."""
    if len(body.user_ids) > settings.API_ISSUE_MAX_IDS:
        raise ApiError(
            422,
            "too_many_ids",
            _("At most %(limit)s user ids per call.") % {"limit": f"{settings.API_ISSUE_MAX_IDS:,}"},
        )
    coupon = selectors.coupon_by_code(code)
    answer = services.coupon_issue(
        client=request.auth,
        coupon=coupon,
        user_ids=body.user_ids,
        key=idempotency_key,
        fingerprint=fingerprint(request),
    )
    return Status(answer.status, answer.body)


@api.get("/members/{user_id}/coupons", auth=ApiKey("read"), response={200: WalletOut, **ERRORS})
def wallet(request, user_id: UserId, status: Literal["live", "all"] = "live"):
    """The member's live coupons (usable); `?status=all` adds used, revoked and expired ones."""
    refuse_unknown_query(request, allowed={"status"})
    with replica_reads():  # a wallet tolerates a second of lag (common/routers.py)
        held = selectors.member_wallet(user_id=user_id, every_state=status == "all")
    return {"user_id": user_id, "coupons": [wallet_entry(row) for row in held]}


@api.post("/members/{user_id}/coupons/{code}/redeem", auth=ApiKey("redeem"), response={200: RedeemOut, **ERRORS})
def redeem(request, user_id: UserId, code: CouponCode, body: OrderIn):
    """Uses the member's coupon for an order; the same order again gets the same answer."""
    redeemed = services.issued_coupon_redeem(client=request.auth, code=code, user_id=user_id, order_id=body.order_id)
    return {"code": code, "user_id": user_id, "order_id": redeemed.order_id, "redeemed_at": redeemed.redeemed_at}


@api.post("/members/{user_id}/coupons/{code}/release", auth=ApiKey("redeem"), response={200: ReleaseOut, **ERRORS})
def release(request, user_id: UserId, code: CouponCode, body: OrderIn):
    """The order was cancelled: the coupon is usable again if that order redeemed it."""
    held = services.issued_coupon_release(
        client=request.auth, coupon=selectors.coupon_by_code(code), user_id=user_id, order_id=body.order_id
    )
    return {"code": code, "user_id": user_id, "status": held.state().value}


def refuse_unknown_query(request, *, allowed):
    # A misspelt parameter (`?statuss=all`) would otherwise be ignored and answer as if it were not there.
    unknown = sorted(set(request.GET) - allowed)
    if unknown:
        problems = [{"field": name, "message": "Unknown query parameter"} for name in unknown]
        raise ApiError(422, "invalid_request", f"{unknown[0]}: Unknown query parameter", problems=problems)


def fingerprint(request) -> str:
    """What makes two calls the same call: method, path and the body's exact bytes."""
    return hashlib.sha256(b"\n".join([request.method.encode(), request.path.encode(), request.body])).hexdigest()


def wallet_entry(row):
    coupon = row.coupon
    return {
        "code": coupon.code,
        "name": coupon.name,
        "issued_at": row.issued_at,
        "expires_at": row.expires_at,
        "discount": {"kind": coupon.discount_kind, "amount": coupon.discount_amount},
        "status": row.state().value,
    }


# --- every error in one shape ----------------------------------------------------------------------


@api.exception_handler(ApiError)
def api_error(request, exc):
    return exc.response()


@api.exception_handler(ValidationError)
def invalid_request(request, exc):
    if any(tuple(error.get("loc", ()))[:2] == ("header", "Idempotency-Key") for error in exc.errors):
        return idempotency_key_required()
    problems = [{"field": field_name(error.get("loc", ())), "message": error.get("msg", "")} for error in exc.errors]
    first = problems[0] if problems else {"field": "", "message": ""}
    return error_response(422, "invalid_request", f"{first['field']}: {first['message']}", problems=problems)


def idempotency_key_required():
    return error_response(
        400,
        "idempotency_key_required",
        _(
            "An Idempotency-Key header (1 to 255 visible ASCII characters, no space "
            "at either end) is required: one new key per logical call, the same on "
            "every retry."
        ),
    )


def field_name(loc) -> str:
    """`user_ids.0`, not ninja's `body.body.user_ids.0` (where the value came from, then the parameter's name)."""
    parts = [str(part) for part in loc]
    if parts[:1] == ["body"]:
        parts = parts[2:] or ["body"]
    return ".".join(parts)


@api.exception_handler(AuthenticationError)
def unauthorized(request, exc):
    response = error_response(401, "unauthorized", _("A valid API key is required: Authorization: Bearer <key>."))
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(HttpError)
def http_error(request, exc):
    if exc.status_code == 400 and isinstance(exc.__cause__, ValueError):
        return error_response(400, "malformed_json", _("The request body is not valid JSON."))
    return error_response(exc.status_code, "bad_request", str(exc))


@api.exception_handler(Http404)
def not_found(request, exc):
    return error_response(404, "not_found", _("Not found."))


@api.exception_handler(Exception)
def internal_error(request, exc):
    logger.exception("Coupon API: %s %s failed", request.method, request.path)
    return error_response(
        500,
        "internal_error",
        _("Something went wrong on our side; nothing was changed by this call unless its answer said so. Try again."),
    )


def unknown_path(request, rest=""):
    """Anything else under /api/v1/: the same error shape as the operations."""
    return error_response(404, "not_found", _("There is no such API endpoint: %(path)s") % {"path": request.path})

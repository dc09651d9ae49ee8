"""Reading the Coupon API's JSON bodies, and its member ids wherever they come from.

Python refuses to turn a string of more than 4,300 digits into an int (a guard against quadratic
conversion time), so `json.loads` raised ValueError on such a number and the call answered 400 "not valid
JSON" — for a body that is valid JSON. Such a number is read as `TooLongNumber` instead, which no field
accepts: the schema refuses it as a 422 naming the field, as it does any other value of the wrong kind.
"""

import json
import re

from ninja.parser import Parser
from pydantic_core import PydanticCustomError

from distribution.models import MEMBER_ID_MAX

# A member id in a path as the body's ids are written: plain digits, no sign, no leading zero, no spaces.
CANONICAL_ID = re.compile(r"[1-9][0-9]*")


class TooLongNumber:
    """A JSON integer too long to convert; no id or text field takes it."""

    def __init__(self, digits: str):
        self.digits = len(digits.lstrip("-"))

    def __repr__(self):
        return f"<a number of {self.digits:,} digits>"


class JsonParser(Parser):
    def parse_body(self, request):
        try:
            return json.loads(request.body)
        except ValueError as exc:
            if "integer string conversion" not in str(exc):
                raise
        # The slow path, taken only by a body that carries such a number.
        return json.loads(request.body, parse_int=read_int)


def read_int(text: str):
    try:
        return int(text)
    except ValueError:
        return TooLongNumber(text)


def refuse_too_long_number(value):
    """A BeforeValidator: names the real problem instead of "should be a valid integer"."""
    if isinstance(value, TooLongNumber):
        raise PydanticCustomError("number_too_long", "a number of more than 4,300 digits is no member id")
    return value


def path_member_id(value):
    """A BeforeValidator for a member id in a path: as strict as the body's JSON integers, so `05`, `+5`,
    `5.0` and ` 5` are refused instead of all being read as 5. Bounds are left to the parameter's own."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str) or not CANONICAL_ID.fullmatch(value):
        raise PydanticCustomError("member_id", "must be a member id written in plain digits (1, 2, … 2^63−1)")
    # Beyond 2^63−1 anyway: not converted (a path of 5,000 digits would hit Python's conversion limit).
    return int(value) if len(value) <= 19 else MEMBER_ID_MAX + 1

"""The one shape of every error the Coupon API answers: {"error": {"code": "...", "message": "..."}}."""

from django.http import JsonResponse


class ApiError(Exception):
    """An answer other than success, with a stable machine-readable code and a sentence for people."""

    def __init__(self, status: int, code: str, message: str, **details):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, str(message), details

    def response(self):
        return error_response(self.status, self.code, self.message, **self.details)


def error_response(status: int, code: str, message, **details) -> JsonResponse:
    return JsonResponse(
        {"error": {"code": code, "message": str(message), **details}},
        status=status,
        json_dumps_params={"ensure_ascii": False},
    )

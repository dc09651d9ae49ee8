"""The Coupon API against its own OpenAPI schema, under gunicorn: schemathesis (pinned) with all its checks.

A schema that promises more than the server accepts (a limit it does not state, a refusal it does not
list, an error body it does not describe) fails here. Examples are bounded so the file runs in about two
minutes on two busy cores; a failure prints the call to replay.

The one refusal of a valid request the schema states as a rule — the same `Idempotency-Key` with another
request → 422 `idempotency_key_reused` — is let through only when that key really was used before for
another request (`KeyUses`), never by silencing 422s.
"""

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.api_helpers import api_key, hold
from tests.harness.cluster import process_env
from tests.harness.web import gunicorn

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

EXAMPLES = 20  # per operation and mode
BOUNDED = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
HELD = range(1, 21)  # members holding the test coupon: small ids, which Hypothesis tries first


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker, tmp_path_factory):
    """One gunicorn for the module (starting one takes longer than a test's calls on a busy machine); it
    reads the test database, which each test fills and the transactional test case empties after it."""
    with django_db_blocker.unblock():
        env = process_env(LOG_LEVEL="WARNING")
    log = tmp_path_factory.mktemp("contract") / "gunicorn.log"
    with gunicorn(env, log, workers=2) as running:
        yield running


@pytest.fixture
def api(postgres, server, coupon):
    hold(coupon, *HELD)
    _client, key = api_key()
    schema = schemathesis.openapi.from_url(f"{server.url}/api/v1/openapi.json")
    return schema, server.url, {"Authorization": f"Bearer {key}"}, coupon.code


class KeyUses:
    """Which request each Idempotency-Key answered 200 for, so that a 422 `idempotency_key_reused` is
    accepted only for a key that was stored for another request."""

    def __init__(self):
        self.stored = {}

    def record(self, case, response):
        key = (case.headers or {}).get("Idempotency-Key")
        if key is not None and response.status_code == 200:
            self.stored.setdefault(key, self.request_of(case))

    @staticmethod
    def request_of(case):
        return case.formatted_path, json.dumps(case.body, sort_keys=True)

    def check(self, ctx, response, case):
        """positive_data_acceptance, but for the protocol's one stated refusal of a valid request."""
        if response.status_code == 422 and error_code(response) == "idempotency_key_reused":
            key = case.headers["Idempotency-Key"]
            assert self.stored.get(key, self.request_of(case)) != self.request_of(case), (
                f"422 idempotency_key_reused for a key not used before for another request: {key!r}"
            )
            return None
        return positive_data_acceptance(ctx, response, case)


def error_code(response):
    try:
        return response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


def cases(operation, mode, code):
    """Generated cases, half of them naming the real coupon (else nearly every call is a 404)."""
    generated = operation.as_strategy(mode)
    if "{code}" not in operation.path:
        return generated
    return st.one_of(operation.as_strategy(mode, path_parameters={"code": code}), generated)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_every_operation_answers_as_its_schema_says(api, mode):
    schema, url, auth, code = api
    uses = KeyUses()
    for result in schema.get_all_operations():
        operation = result.ok()

        @BOUNDED
        @given(case=cases(operation, mode, code))
        def exercise(case):
            response = case.call_and_validate(
                base_url=url,
                headers=auth,
                excluded_checks=[positive_data_acceptance],
                additional_checks=[uses.check],
            )
            uses.record(case, response)

        exercise()


def test_sequences_of_calls_answer_as_the_schema_says(api):
    """The schema's links (a wallet's coupon → redeem it → release it) make calls on coupons members hold."""
    schema, url, auth, _code = api
    uses = KeyUses()

    class Calls(schema.as_state_machine()):
        def get_call_kwargs(self, case):
            return {"base_url": url, "headers": auth}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            uses.record(case, response)
            case.validate_response(
                response,
                excluded_checks=[positive_data_acceptance],
                additional_checks=[uses.check],
                headers=auth,
                transport_kwargs=kwargs,
            )

    Calls.run(settings=settings(BOUNDED, max_examples=EXAMPLES, stateful_step_count=6))

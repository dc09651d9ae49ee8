"""No SQL from unchecked input; staff only; a clean `check --deploy` with production settings."""

import os
import secrets

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from distribution import services
from distribution.models import DistributionRequest, IssuedCoupon
from distribution.sources import SourceError, get_source
from tests.harness.cluster import manage
from tests.helpers import by

PRODUCTION_ENV = {
    "DEBUG": "false",
    "ALLOWED_HOSTS": "couponops.example.com",
    "SESSION_COOKIE_SECURE": "true",
    "CSRF_COOKIE_SECURE": "true",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "SECURE_HSTS_PRELOAD": "true",
}


def test_check_deploy_reports_nothing_with_production_settings():
    env = {**os.environ, **PRODUCTION_ENV, "SECRET_KEY": secrets.token_urlsafe(50)}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set for the browser test's sake, never in production
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.integration
class TestInjectionThroughNames:
    @pytest.fixture
    def victim(self, memory_table):
        return memory_table("SELECT BIGINT '1' AS user_id", prefix="victim")

    @pytest.mark.parametrize(
        "column",
        [
            "user_id; DROP TABLE {victim}",
            'user_id" FROM {victim}; --',
            "user_id) OR 1=1 --",
        ],
    )
    def test_a_column_carrying_sql_is_only_ever_a_missing_column(self, victim, warehouse, column):
        with pytest.raises(SourceError) as error:
            get_source("warehouse").resolve(victim, column.format(victim=victim))
        assert error.value.field == "column"
        assert warehouse.execute(f"SELECT count(*) FROM {victim}") == [[1]]

    @pytest.mark.parametrize(
        "table",
        [
            "memory.default.t; DROP TABLE {victim}",
            'memory.default."t"; DROP TABLE {victim} --"',
            "memory.information_schema.tables",
        ],
    )
    def test_a_table_carrying_sql_is_only_ever_a_missing_table(self, victim, warehouse, table):
        with pytest.raises(SourceError):
            source = get_source("warehouse")
            source.resolve(table.format(victim=victim), "user_id")
        assert warehouse.execute(f"SELECT count(*) FROM {victim}") == [[1]]

    def test_names_with_quotes_semicolons_spaces_and_korean_letters_are_read_exactly(self, warehouse, postgres, coupon):
        name = 'we""ird; name 회원'
        warehouse.execute(f'CREATE TABLE memory.default."{name}" ("user; id" BIGINT)')
        try:
            warehouse.execute(f'INSERT INTO memory.default."{name}" VALUES 3, 1, 2, 2, NULL')
            distribution = services.distribution_submit(
                actor=by(),
                distribution=DistributionRequest(
                    coupon=coupon, source="warehouse", table=f'memory.default."{name}"', column="user; id", memo="m"
                ),
            )
            assert distribution.table == 'memory.default."we""ird; name 회원"' and distribution.target_count == 3
            services.distribution_run_queue()
            distribution.refresh_from_db()
            assert (distribution.status, distribution.issued_count) == ("succeeded", 3)
            assert sorted(IssuedCoupon.objects.values_list("user_id", flat=True)) == [1, 2, 3]
        finally:
            warehouse.execute(f'DROP TABLE memory.default."{name}"')


def test_an_unknown_source_is_a_form_error(db, coupon):
    with pytest.raises(ValidationError) as error:
        services.distribution_submit(
            actor=by(),
            distribution=DistributionRequest(
                coupon=coupon, source="warehouse'; DROP TABLE x; --", table="a.b.c", column="id", memo="m"
            ),
        )
    assert "source" in error.value.message_dict


@pytest.mark.parametrize(
    "name",
    [
        "admin:distribution_distributionrequest_add",
        "admin:distribution_distributionrequest_changelist",
        "admin:distribution_issuedcoupon_list",
        "admin:notifications_notification_changelist",
    ],
)
def test_only_staff_reach_the_admin(client, django_user_model, name):
    member = django_user_model.objects.create_user("member", password="pw-for-tests-only")
    client.force_login(member)
    response = client.get(reverse(name))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_staff_without_permission_get_403(client, django_user_model):
    clerk = django_user_model.objects.create_user("clerk", password="pw-for-tests-only", is_staff=True)
    client.force_login(clerk)
    assert client.get(reverse("admin:distribution_distributionrequest_add")).status_code == 403
    assert client.get(reverse("admin:distribution_issuedcoupon_list")).status_code == 403


def test_forms_require_csrf(db, staff_user, coupon):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(staff_user)
    response = strict.post(
        reverse("admin:distribution_distributionrequest_add"),
        {"coupon": coupon.pk, "source": "demo", "table": "a.b.c", "column": "id", "memo": "m"},
    )
    assert response.status_code == 403


def test_a_trino_password_is_never_sent_over_plain_http(settings):
    settings.COUPONOPS_SOURCES = {
        "warehouse": {
            "kind": "trino",
            "host": "127.0.0.1",
            "port": 1,
            "user": "u",
            "password": "s3cret",
            "http_scheme": "http",
        }
    }
    with pytest.raises(SourceError) as error:
        get_source("warehouse").resolve("memory.default.t", "id")
    assert "TRINO_HTTP_SCHEME=https" in error.value.message and "s3cret" not in error.value.message


def test_a_trino_password_never_reaches_an_error_or_a_log(settings, caplog):
    settings.COUPONOPS_SOURCES = {
        "warehouse": {
            "kind": "trino",
            "host": "127.0.0.1",
            "port": 1,
            "user": "u",
            "password": "s3cret-do-not-log",
            "http_scheme": "https",
            "request_timeout": 2,
        }
    }
    with caplog.at_level("DEBUG"), pytest.raises(SourceError) as error:
        get_source("warehouse").resolve("memory.default.t", "id")
    assert "Could not reach" in error.value.message
    assert "s3cret-do-not-log" not in error.value.message + caplog.text

"""Every v3 error code, its status, and the envelope."""

from __future__ import annotations

import pytest

from prefect_virustotal.emulator import ERROR_STATUS, ApiError, Emulator, World, error_response

from .helpers import api, error_of

CONTRACT_TABLE = {
    "BadRequestError": 400,
    "InvalidArgumentError": 400,
    "NotAvailableYet": 400,
    "UnselectiveContentQueryError": 400,
    "UnsupportedContentQueryError": 400,
    "AuthenticationRequiredError": 401,
    "UserNotActiveError": 401,
    "WrongCredentialsError": 401,
    "ForbiddenError": 403,
    "NotFoundError": 404,
    "AlreadyExistsError": 409,
    "FailedDependencyError": 424,
    "QuotaExceededError": 429,
    "TooManyRequestsError": 429,
    "TransientError": 503,
    "DeadlineExceededError": 504,
}


def test_table_matches_the_contract() -> None:
    assert dict(ERROR_STATUS) == CONTRACT_TABLE


def test_error_response_helper() -> None:
    response = error_response("ForbiddenError", "no")
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/json"
    assert response.body == b'{"error":{"code":"ForbiddenError","message":"no"}}'
    with pytest.raises(ValueError, match="unknown v3 error code"):
        error_response("TeapotError", "short and stout")
    with pytest.raises(ValueError, match="unknown v3 error code"):
        ApiError("TeapotError", "nope")
    assert ApiError("NotAvailableYet", "later").status == 400


@pytest.mark.asyncio
@pytest.mark.parametrize("code", sorted(CONTRACT_TABLE))
async def test_every_code_over_http(code: str, world: World) -> None:
    emulator = Emulator(world=world)
    emulator.faults.add("error", code=code, count=1, message="injected")
    async with api(emulator) as client:
        status, got, message = error_of(await client.get(f"/domains/{world.pick('domain')}"))
        assert (await client.get(f"/domains/{world.pick('domain')}")).status_code == 200
    assert (status, got) == (CONTRACT_TABLE[code], code)
    assert message.startswith("injected")

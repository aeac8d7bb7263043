"""Prefect's standard block checks, offline, and a form that shows what is stored."""

from __future__ import annotations

import pytest
from prefect.blocks.core import Block
from prefect.testing.standard_test_suites import BlockStandardTestSuite
from pydantic import SecretStr

from prefect_virustotal.blocks import VirusTotalCredentials


class TestVirusTotalCredentials(BlockStandardTestSuite):
    @pytest.fixture
    def block(self) -> type[Block]:
        return VirusTotalCredentials

    def test_has_a_valid_image(self, block: type[Block]) -> None:
        # Prefect's version downloads the logo when Pillow is installed; the suite stays offline.
        assert str(block._logo_url).startswith("https://www.virustotal.com/")


@pytest.mark.usefixtures("prefect_harness")
def test_the_form_shows_a_stored_empty_budget_as_empty() -> None:
    """The UI fills a field from the schema's default when the stored value is empty."""
    schema = VirusTotalCredentials.model_json_schema()
    assert "default" not in schema["properties"]["daily_budget"]
    VirusTotalCredentials(api_key=SecretStr("k" * 20), daily_budget=None).save("form-empty", overwrite=True)
    loaded = VirusTotalCredentials.load("form-empty")
    assert isinstance(loaded, VirusTotalCredentials) and loaded.daily_budget is None
    # An unsaved block still gets the public key's day.
    assert VirusTotalCredentials(api_key=SecretStr("k" * 20)).daily_budget == 500

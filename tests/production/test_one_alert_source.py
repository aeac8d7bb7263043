"""One alert, one hand-off: the deployments poll one alert source per key (see prefect.yaml)."""

from __future__ import annotations

from pathlib import Path

import yaml

PREFECT_YAML = Path(__file__).resolve().parents[2] / "deployments" / "prefect.yaml"


def test_one_poll_alerts_deployment_on_the_ioc_stream() -> None:
    deployments = yaml.safe_load(PREFECT_YAML.read_text())["deployments"]
    polls = [d for d in deployments if d["entrypoint"].endswith(":poll_alerts")]
    # The IoC Stream holds every livehunt hit (origin "hunting"); a second poller on the
    # livehunt notifications would hand each hit on twice.
    assert [d["parameters"]["source"] for d in polls] == ["ioc_stream"]

"""The example flows of flows/examples (issue 11): one per area beyond JSON, each run against
the test API, verbose, with nothing secret and nothing binary printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.server import ISSUED_TOKEN

EXAMPLES = Path(__file__).resolve().parent.parent / "flows" / "examples"
AREAS = ["auth", "upload", "html", "xml", "binary", "redirects"]


@pytest.mark.parametrize("area", AREAS)
def test_each_example_passes_against_the_test_api(cli, live_server, area):
    result = cli("run", "-v", EXAMPLES / f"{area}.yaml", env={"EXAMPLES_URL": live_server})
    assert result.code == 0, result.output
    for secret in ("wonderland-2024", "builder-2024", "hunter2-password", ISSUED_TOKEN):
        assert secret not in result.output
    assert "\ufffd" not in result.output  # no raw bytes decoded into the terminal


def test_the_examples_validate_and_are_one_per_area(cli):
    assert sorted(p.stem for p in EXAMPLES.glob("*.yaml")) == sorted(AREAS)
    assert cli("validate", EXAMPLES).code == 0


def test_binary_and_files_are_described_not_dumped(cli, live_server):
    binary = cli("run", "-v", EXAMPLES / "binary.yaml", env={"EXAMPLES_URL": live_server})
    assert "<binary: 272 bytes, sha256 8e2733d86f0bb3b4" in binary.out
    upload = cli("run", "-v", EXAMPLES / "upload.yaml", env={"EXAMPLES_URL": live_server})
    assert "picture: <file files/cat.png, 165 bytes> as cat.png (image/png)" in upload.out
    assert "<file files/order.xml, 46 bytes>" in upload.out

"""Record a run to a cassette, replay it offline (issue 15): the BigCommerce checkout recorded
against the sandbox replays with no sandbox and nothing set; an edited flow fails saying how its
request differs; no raw secret is in the cassette."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from runner.sandbox.catalog import ACCESS_TOKEN, STORED_CARD

FLOWS = Path(__file__).resolve().parent.parent / "flows" / "bigcommerce"
BC = ("BC_API_URL", "BC_PAYMENTS_URL", "BC_STORE_HASH", "BC_ACCESS_TOKEN")


@pytest.fixture
def recorded(cli, tmp_path, monkeypatch):
    flows = tmp_path / "bigcommerce"
    shutil.copytree(FLOWS, flows)
    cassette = tmp_path / "checkout.cassette.json"
    result = cli("run", "--sandbox", "--record", cassette, flows)
    assert result.code == 0, result.output
    assert "recorded " in result.out
    for name in BC:  # replay needs nothing set
        monkeypatch.delenv(name, raising=False)
    return flows, cassette


def test_a_recorded_checkout_replays_offline(cli, recorded, tmp_path):
    flows, cassette = recorded
    report = tmp_path / "replay.json"
    result = cli("run", "--replay", cassette, "--report", report, flows)
    assert result.code == 0, result.output
    assert "Replaying" in result.out and "nothing is sent" in result.out
    assert json.loads(report.read_text())["replayed_from"] == str(cassette)


def test_an_edited_flow_fails_with_the_difference(cli, recorded):
    flows, cassette = recorded
    flow = flows / "checkout-new-card.yaml"
    flow.write_text(flow.read_text().replace("cardholder_name: Jane Doe", "cardholder_name: John Roe"))
    result = cli("run", "--replay", cassette, flow)
    assert result.code == 1
    assert "the request differs from the recording: body" in result.out
    assert "John Roe" in result.out and "Jane Doe" in result.out


def test_no_raw_secret_is_in_the_cassette(recorded):
    _, cassette = recorded
    text = cassette.read_text()
    for secret in (ACCESS_TOKEN, STORED_CARD.token, "4111111111111111", "4242424242424242", '"123"'):
        assert secret not in text
    data = json.loads(text)
    assert data["apiflow_cassette"] == 1 and data["runs"]
    assert "[REDACTED]" in text


def test_a_broken_cassette_is_a_usage_error(cli, write, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    result = cli("run", "--replay", bad, write("name: X\nsteps:\n  - request: {url: 'http://x.test/'}\n"))
    assert result.code == 2 and "not an apiflow cassette of version 1" in result.err

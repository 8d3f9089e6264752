"""Settings that guard the edge: which proxies name the client, where webhooks may go."""

from __future__ import annotations

import pytest

from session_server.cli import uvicorn_options
from session_server.config import ConfigError, Settings
from session_server.http.app import create_app


def test_no_peer_names_the_client_unless_it_is_a_listed_proxy() -> None:
    default = uvicorn_options(Settings.from_env({}))
    assert default["proxy_headers"] is False and default["forwarded_allow_ips"] == []
    listed = uvicorn_options(Settings.from_env({"KVORUM_TRUSTED_PROXIES": "10.0.0.10, 10.1.0.0/16"}))
    assert listed["proxy_headers"] is True and listed["forwarded_allow_ips"] == ["10.0.0.10", "10.1.0.0/16"]
    assert uvicorn_options(Settings.from_env({"KVORUM_TRUSTED_PROXIES": "*"}))["forwarded_allow_ips"] == ["*"]


@pytest.mark.parametrize(
    ("name", "value"),
    [("KVORUM_TRUSTED_PROXIES", "nginx"), ("KVORUM_TRUSTED_PROXIES", "10.0.0.0/33"), ("KVORUM_WEBHOOK_NETWORKS", "x")],
)
def test_a_setting_that_is_no_network_stops_the_start_naming_itself(
    name: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(name, value)  # the webhooks' is the portal's own setting, checked as the app is made
    with pytest.raises(ConfigError, match=name):
        create_app(Settings.from_env({name: value}))

"""The deployment files in deploy/, as an operator would use them (nginx: test_deploy_nginx.py).

Compose and Kubernetes are parsed and cross-checked (Docker and a cluster are not run here);
the systemd unit is verified by ``systemd-analyze`` where it exists. Every ``KVORUM_*`` name in
deploy/ must be one that session_server/config.py reads.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from deploy_support import (
    COMPOSE,
    COMPOSE_NGINX,
    DEPLOY,
    DOCKERFILE,
    K8S,
    ROOT,
    SETTING,
    SYSTEMD_ANALYZE,
    TARGET,
    UNIT,
    Node,
    env_example,
    known_settings,
    upstream_servers,
)

from session_server.cli import parser

# --- compose and the image --------------------------------------------------------------------


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def interpolated(value: str) -> str:
    """Compose's ${VAR…} references replaced by a plain stand-in value."""
    return re.sub(r"\$\{[^}]*\}", "secret", value)


def app_nodes() -> dict[str, dict[str, Any]]:
    return {name: s for name, s in compose()["services"].items() if "KVORUM_DATABASE_URL" in environment(s)}


def test_compose_runs_postgres_redis_nginx_and_several_identical_nodes() -> None:
    services = compose()["services"]
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    assert services["nginx"]["image"] == "nginx:stable"
    nodes = app_nodes()
    assert len(nodes) >= 2
    settings = [{k: v for k, v in environment(s).items() if k.startswith("KVORUM_")} for s in nodes.values()]
    assert all(s == settings[0] for s in settings), "app nodes differ in their KVORUM_* settings"
    for name, node in nodes.items():
        build = node["build"]
        assert (COMPOSE.parent / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE, name
        for dependency in ("postgres", "redis"):
            assert node["depends_on"][dependency] == {"condition": "service_healthy"}, name
            assert services[dependency]["healthcheck"]["test"], dependency
        # Only nginx is reachable from outside, which is what makes KVORUM_TRUSTED_PROXIES=* safe.
        assert "ports" not in node, name
        assert environment(node).get("KVORUM_TRUSTED_PROXIES") == "*", name


def test_compose_nodes_share_the_database_broker_and_data_folder() -> None:
    services = compose()["services"]
    for name, node in app_nodes().items():
        env = environment(node)
        database = urlsplit(interpolated(env["KVORUM_DATABASE_URL"]))
        broker = urlsplit(interpolated(env["KVORUM_BROKER_URL"]))
        assert database.scheme == "postgresql" and database.hostname == "postgres" in services, name
        assert broker.scheme == "redis" and broker.hostname == "redis" in services, name
        data = [v for v in node["volumes"] if v.split(":")[1] == env["KVORUM_DATA_DIR"]]
        assert data and data[0].split(":")[0] in compose()["volumes"], name
        # The proxy serves /live/ (HLS) from the same volume.
        assert f"{data[0].split(':')[0]}:/var/lib/kvorum:ro" in services["nginx"]["volumes"]


def test_compose_nginx_mounts_its_config_and_proxies_to_the_app_services() -> None:
    mounts = {v.split(":")[1]: v.split(":")[0] for v in compose()["services"]["nginx"]["volumes"]}
    assert (COMPOSE.parent / mounts["/etc/nginx/conf.d/default.conf"]).resolve() == COMPOSE_NGINX
    assert (COMPOSE.parent / mounts["/srv/kvorum/web"]).resolve() == ROOT / "web"
    servers = upstream_servers(COMPOSE_NGINX.read_text())
    ports = {environment(node)["KVORUM_PORT"] for node in app_nodes().values()}
    assert {s.rpartition(":")[0] for s in servers} == set(app_nodes())
    assert {s.rpartition(":")[2] for s in servers} == ports


def dockerfile() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    lines = (line.strip() for line in text.splitlines())
    return [
        (word.upper(), rest.strip()) for word, _, rest in (ln.partition(" ") for ln in lines if ln and ln[0] != "#")
    ]


def test_the_image_runs_kvorum_serve_as_a_non_root_user() -> None:
    instructions = dockerfile()
    values = {word: rest for word, rest in instructions}  # the last of each kind counts
    assert values["FROM"] == "python:3.11-slim"
    assert json.loads(values["CMD"]) == ["kvorum", "serve"]
    assert (
        tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]["kvorum"]
        == "session_server.cli:main"
    )
    assert parser().parse_args(["serve"]).command == "serve"
    user = values["USER"].split(":")[0]
    assert user not in {"root", "0"}
    assert values["EXPOSE"] == "8000"
    env = " ".join(rest for word, rest in instructions if word == "ENV").split()
    assert "KVORUM_HOST=0.0.0.0" in env
    # `pip install .` puts the packages in site-packages; the front end stays in the copied checkout.
    assert f"KVORUM_WEB_DIR={values['WORKDIR']}/web" in env and values["COPY"] == ". ."
    assert any(word == "RUN" and "pip install ." in rest for word, rest in instructions)
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    assert {".git", ".venv", "var"} <= set(ignored)


def test_the_image_healthcheck_asks_healthz(tmp_path: Path) -> None:
    check = dict(dockerfile())["HEALTHCHECK"]
    command = json.loads(check[check.index("CMD") + 3 :])
    assert command[0] == "python"
    node = Node("node", threading.Event())
    try:
        env = {**os.environ, "KVORUM_PORT": str(node.port)}
        assert subprocess.run([sys.executable, *command[1:]], env=env, timeout=30).returncode == 0
        node.health = 503
        failing = subprocess.run([sys.executable, *command[1:]], env=env, timeout=30, capture_output=True)
        assert failing.returncode != 0
    finally:
        node.stop()
    assert [path for path, _ in node.seen] == ["/healthz", "/healthz"]


# --- Kubernetes -------------------------------------------------------------------------------


def manifests() -> dict[str, dict[str, Any]]:
    found = {}
    for path in sorted(K8S.glob("*.yaml")):
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
        assert len(docs) == 1, path.name
        found[path.name] = docs[0]
    return found


def test_every_yaml_file_in_deploy_parses() -> None:
    files = sorted([*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml")])
    assert COMPOSE in files and len(files) >= 9
    for path in files:
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
        assert docs and all(isinstance(d, dict) for d in docs), path


def test_k8s_manifests_are_named_and_all_in_the_kustomization() -> None:
    found = manifests()
    for name, doc in found.items():
        assert doc["apiVersion"] and doc["kind"] and doc["metadata"]["name"], name
    listed = found.pop("kustomization.yaml")["resources"]
    # The example Secret is kept out on purpose: re-applying it would overwrite the real one.
    expected = {name for name in found if not name.endswith(".example.yaml")}
    assert sorted(listed) == sorted(expected)
    assert found["secret.example.yaml"]["kind"] == "Secret"


def test_k8s_deployment_runs_several_probed_locked_down_pods() -> None:
    found = manifests()
    deployment, config = found["deployment.yaml"], found["configmap.yaml"]
    pod = deployment["spec"]["template"]
    labels = pod["metadata"]["labels"]
    assert deployment["spec"]["replicas"] >= 2
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert pod["spec"]["terminationGracePeriodSeconds"] >= 10
    assert pod["spec"].get("topologySpreadConstraints") or pod["spec"].get("affinity", {}).get("podAntiAffinity")
    (container,) = pod["spec"]["containers"]
    assert container["command"] == ["kvorum", "serve"]
    port = next(p for p in container["ports"] if p["containerPort"] == int(config["data"]["KVORUM_PORT"]))
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port["name"]}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port["name"]}
    security = {**pod["spec"]["securityContext"], **container["securityContext"]}
    assert security["runAsNonRoot"] is True and security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert str(security["runAsUser"]) == dict(dockerfile())["USER"].split(":")[0]
    # The root file system is read-only, so the data folder must be a volume.
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert config["data"]["KVORUM_DATA_DIR"] in mounts
    assert "memory" in container["resources"]["limits"] and container["resources"]["requests"]
    sources = {ref: s[ref]["name"] for s in container["envFrom"] for ref in s}
    assert sources == {"configMapRef": "kvorum-config", "secretRef": found["secret.example.yaml"]["metadata"]["name"]}
    assert config["metadata"]["name"] == "kvorum-config"


def test_k8s_settings_split_between_configmap_and_secret() -> None:
    found = manifests()
    config, secret = found["configmap.yaml"]["data"], found["secret.example.yaml"]["stringData"]
    assert "KVORUM_DATABASE_URL" not in config
    assert urlsplit(secret["KVORUM_DATABASE_URL"]).scheme == "postgresql"
    assert urlsplit(config["KVORUM_BROKER_URL"]).scheme == "redis"
    assert config["KVORUM_SECURE_COOKIES"] == "1"
    assert config["KVORUM_ALLOWED_ORIGINS"].startswith("https://")


def test_k8s_service_ingress_and_budget_reach_the_pods() -> None:
    found = manifests()
    labels = found["deployment.yaml"]["spec"]["template"]["metadata"]["labels"]
    (container,) = found["deployment.yaml"]["spec"]["template"]["spec"]["containers"]
    service, ingress, budget = found["service.yaml"], found["ingress.yaml"], found["pdb.yaml"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert service["spec"].get("sessionAffinity", "None") == "None"  # any pod serves any client
    (port,) = service["spec"]["ports"]
    assert port["targetPort"] in {p["name"] for p in container["ports"]}
    backends = [p["backend"]["service"] for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]
    assert backends and all(
        b == {"name": service["metadata"]["name"], "port": {"name": port["name"]}} for b in backends
    )
    notes = ingress["metadata"]["annotations"]
    assert int(notes["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 300
    assert int(notes["nginx.ingress.kubernetes.io/proxy-send-timeout"]) >= 300
    assert notes["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    assert ingress["spec"]["tls"]
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert budget["spec"]["minAvailable"] == 1


# --- systemd ----------------------------------------------------------------------------------


def unit() -> configparser.ConfigParser:
    parsed = configparser.ConfigParser(strict=False, interpolation=None)
    parsed.optionxform = str  # type: ignore[assignment,method-assign]
    parsed.read_string(UNIT.read_text())
    return parsed


def test_systemd_unit_runs_kvorum_serve_on_the_instance_port() -> None:
    service = unit()["Service"]
    command = shlex.split(service["ExecStart"].replace("%i", "8001"))
    assert command[0] == "/srv/kvorum/.venv/bin/kvorum"
    args = parser().parse_args(command[1:])
    assert (args.command, args.port) == ("serve", 8001)
    assert service["EnvironmentFile"] == "/etc/kvorum/kvorum.env"
    assert service["Restart"] == "on-failure"
    assert service["User"] not in {"root", "0"}
    assert service["NoNewPrivileges"] == "yes" and service["ProtectSystem"] == "strict"
    assert service["PrivateTmp"] == "yes"
    assert env_example()["KVORUM_DATA_DIR"] in service["ReadWritePaths"].split()
    assert unit()["Install"]["WantedBy"] == TARGET.name


def test_systemd_environment_example_suits_several_nodes() -> None:
    env = env_example()
    # EnvironmentFile= would override the unit's KVORUM_PORT=%i for every node alike.
    assert "KVORUM_PORT" not in env
    assert urlsplit(env["KVORUM_DATABASE_URL"]).scheme == "postgresql"
    assert urlsplit(env["KVORUM_BROKER_URL"]).scheme == "redis"
    assert env["KVORUM_SECURE_COOKIES"] == "1"
    assert env["KVORUM_ALLOWED_ORIGINS"].startswith("https://")


@pytest.fixture
def installed_units(tmp_path: Path) -> Path:
    """The unit as instance kvorum@8001 and the target, with a stand-in kvorum executable."""
    if SYSTEMD_ANALYZE is None:
        pytest.skip("systemd-analyze is not installed; the unit is only parsed")
    kvorum = tmp_path / "srv" / ".venv" / "bin" / "kvorum"
    kvorum.parent.mkdir(parents=True)
    kvorum.write_text("#!/bin/sh\n")
    kvorum.chmod(0o755)
    text = UNIT.read_text()
    assert "/srv/kvorum/.venv/bin/kvorum" in text
    (tmp_path / "kvorum@8001.service").write_text(text.replace("/srv/kvorum/", f"{tmp_path}/srv/"))
    shutil.copy(TARGET, tmp_path / TARGET.name)
    return tmp_path


def test_systemd_analyze_verifies_the_units(installed_units: Path) -> None:
    assert SYSTEMD_ANALYZE
    files = [str(installed_units / "kvorum@8001.service"), str(installed_units / TARGET.name)]
    result = subprocess.run([SYSTEMD_ANALYZE, "verify", "--man=no", *files], capture_output=True, text=True, timeout=60)
    # verify exits 0 on unknown keys and bad values too; it names the file in its complaint.
    complaints = [line for line in (result.stdout + result.stderr).splitlines() if str(installed_units) in line]
    assert result.returncode == 0 and not complaints, result.stdout + result.stderr


def test_systemd_unit_is_sandboxed(installed_units: Path) -> None:
    assert SYSTEMD_ANALYZE
    if "--offline" not in subprocess.run([SYSTEMD_ANALYZE, "--help"], capture_output=True, text=True).stdout:
        pytest.skip("this systemd-analyze has no offline security review (systemd < 250)")
    command = [SYSTEMD_ANALYZE, "security", "--offline=yes", "--threshold=25"]  # score × 10, lower is safer
    result = subprocess.run([*command, str(installed_units / "kvorum@8001.service")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-600:] + result.stderr


# --- settings --------------------------------------------------------------------------------


def test_every_setting_named_in_deploy_is_one_kvorum_reads() -> None:
    used: dict[str, set[str]] = {}
    for path in DEPLOY.rglob("*"):
        if path.is_file():
            for name in SETTING.findall(path.read_text()):
                used.setdefault(name, set()).add(str(path.relative_to(DEPLOY)))
    assert {"KVORUM_DATABASE_URL", "KVORUM_BROKER_URL", "KVORUM_ALLOWED_ORIGINS", "KVORUM_SECURE_COOKIES"} <= set(used)
    unknown = {name: sorted(files) for name, files in used.items() if name not in known_settings()}
    assert not unknown, f"not read by session_server/, streaming/ or portal_bridge/config.py: {unknown}"

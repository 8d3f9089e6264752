"""The deployment files in deploy/, as an operator would use them (nginx: test_deploy_nginx.py).

Compose and Kubernetes are parsed and cross-checked (Docker and a cluster are not run here); the
Kubernetes layout is also rendered by ``kubectl kustomize`` and checked as it would be applied, and
its TURN configuration runs under Debian's coturn; the systemd unit is verified by
``systemd-analyze`` where it exists. Every ``KVORUM_*`` name in deploy/ must be one that
session_server/config.py reads.
"""

from __future__ import annotations

import asyncio
import configparser
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from aioice import stun
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.rtcicetransport import connection_kwargs
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
from starlette.routing import BaseRoute, Route

from session_server.cli import parser
from session_server.config import Settings
from streaming import api as video_api
from streaming.config import ice_servers, video_config

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
    kustomization = found.pop("kustomization.yaml")
    # The example Secrets are kept out on purpose: re-applying them would overwrite the real ones.
    expected = {name for name in found if not name.endswith(".example.yaml")}
    assert sorted(kustomization["resources"]) == sorted(expected)
    assert found["secret.example.yaml"]["kind"] == found["turn-secret.example.yaml"]["kind"] == "Secret"
    # Every other file is a generator's input (coturn's configuration).
    generated = [name for generator in kustomization["configMapGenerator"] for name in generator["files"]]
    assert sorted(generated) == sorted(path.name for path in K8S.iterdir() if path.suffix != ".yaml")


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
    backends = {p["path"]: p["backend"]["service"] for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]}
    assert backends["/"] == {"name": service["metadata"]["name"], "port": {"name": port["name"]}}
    # The video's paths go to its own Service (test_k8s_ingress_sends_the_video_paths_to_the_video_pod).
    services = {doc["metadata"]["name"]: doc for doc in found.values() if doc["kind"] == "Service"}
    for backend in backends.values():
        assert backend["port"]["name"] in {p["name"] for p in services[backend["name"]]["spec"]["ports"]}
    notes = ingress["metadata"]["annotations"]
    assert int(notes["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 300
    assert int(notes["nginx.ingress.kubernetes.io/proxy-send-timeout"]) >= 300
    assert notes["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    assert ingress["spec"]["tls"]
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert budget["spec"]["minAvailable"] == 1


# --- Kubernetes as kustomize renders it: the live video ---------------------------------------

Objects = dict[tuple[str, str], dict[str, Any]]
"""The rendered objects by (kind, name)."""

KUSTOMIZE_AT_LEAST = (4, 1)
"""For `labels:` in kustomization.yaml. Debian 12's kubernetes-client (kubectl 1.20) has kustomize 2.0.3."""

VIDEO, TURN = "kvorum-video", "kvorum-turn"
"""The video pod's and coturn's Deployments and Services."""


def kubectl() -> str:
    """A kubectl whose kustomize reads deploy/k8s; otherwise skip, or fail under KVORUM_REQUIRE_KUBECTL."""
    tool = shutil.which("kubectl")
    problem = "kubectl is not installed"
    if tool is not None:
        asked = subprocess.run([tool, "version", "--client", "-o", "json"], capture_output=True, text=True, timeout=60)
        reported = json.loads(asked.stdout).get("kustomizeVersion", "") if asked.returncode == 0 else ""
        found = re.match(r"v(\d+)\.(\d+)", reported)
        if found and (int(found[1]), int(found[2])) >= KUSTOMIZE_AT_LEAST:
            return tool
        problem = f"kubectl's kustomize is older than 4.1 ({reported or 'it reports none'})"
    if os.environ.get("KVORUM_REQUIRE_KUBECTL"):
        raise AssertionError(f"{problem}: `kubectl kustomize deploy/k8s` must run here")
    pytest.skip(f"{problem}; the rendered Kubernetes layout is not checked")


@pytest.fixture(scope="module")
def rendered() -> Objects:
    """`kubectl kustomize deploy/k8s`: exactly what `kubectl apply -k deploy/k8s` sends."""
    result = subprocess.run([kubectl(), "kustomize", str(K8S)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    docs = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    objects = {(doc["kind"], doc["metadata"]["name"]): doc for doc in docs}
    assert len(objects) == len(docs), "two objects of one kind share a name"
    return objects


def example_secrets() -> dict[str, dict[str, str]]:
    """The example Secrets by name (what `kubectl create secret` holds; they are not rendered)."""
    examples = [doc for name, doc in manifests().items() if name.endswith(".example.yaml")]
    return {doc["metadata"]["name"]: doc["stringData"] for doc in examples if doc["kind"] == "Secret"}


def expand(value: str, env: dict[str, str]) -> str:
    """Kubernetes' `$(NAME)` in a value or an argument: a variable defined before it, else left as it is."""
    return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda ref: env.get(ref[1], ref[0]), value)


def container_env(objects: Objects, container: dict[str, Any]) -> dict[str, str]:
    """The container's environment as the kubelet makes it, with the example Secrets for the real ones."""
    secrets = example_secrets()
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(objects["ConfigMap", source["configMapRef"]["name"]]["data"])
        else:
            env.update(secrets[source["secretRef"]["name"]])
    for variable in container.get("env", []):
        if "value" in variable:
            env[variable["name"]] = expand(variable["value"], env)
        else:
            ref = variable["valueFrom"]["secretKeyRef"]
            env[variable["name"]] = secrets[ref["name"]][ref["key"]]
    return env


def pod_of(objects: Objects, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A Deployment's pod spec and its one container."""
    pod: dict[str, Any] = objects["Deployment", name]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    return pod, container


def assert_locked_down(pod: dict[str, Any], container: dict[str, Any]) -> None:
    """As the app pods: the image's non-root user, a read-only root, no privileges, resources set."""
    security = {**pod["securityContext"], **container["securityContext"]}
    assert security["runAsNonRoot"] is True
    assert str(security["runAsUser"]) == dict(dockerfile())["USER"].split(":")[0]
    assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    # The restricted Pod Security level (namespace.yaml) lets a container add back this one only.
    assert security["capabilities"]["drop"] == ["ALL"]
    assert set(security["capabilities"].get("add", [])) <= {"NET_BIND_SERVICE"}
    assert pod["automountServiceAccountToken"] is False
    assert container["resources"]["requests"] and "memory" in container["resources"]["limits"]


def coturn_config(objects: Objects) -> tuple[str, str]:
    """The file coturn's `-c` names, found through its pod's mounts: (its path in the pod, its text)."""
    pod, container = pod_of(objects, TURN)
    path = container["args"][container["args"].index("-c") + 1]
    folder, _, name = path.rpartition("/")
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == folder]
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    text: str = objects["ConfigMap", volume["configMap"]["name"]]["data"][name]
    return path, text


def coturn_options(text: str) -> dict[str, str]:
    """turnserver.conf's options (a flag's value is empty; of a repeated option, the last)."""
    lines = (line.strip() for line in text.splitlines())
    return {key: value for key, _, value in (line.partition("=") for line in lines if line and line[0] != "#")}


def claim_mounts(objects: Objects, claim: str) -> list[tuple[str, bool]]:
    """The Deployments that mount the claim, each with whether it mounts it read-only."""
    found = []
    for kind, name in objects:
        if kind == "Deployment":
            pod, container = pod_of(objects, name)
            volumes = {
                v["name"] for v in pod["volumes"] if v.get("persistentVolumeClaim", {}).get("claimName") == claim
            }
            found += [(name, bool(m.get("readOnly"))) for m in container["volumeMounts"] if m["name"] in volumes]
    return found


def ingress_route(ingress: dict[str, Any], path: str) -> str:
    """The Service ingress-nginx sends `path` to. With use-regex, every path of the host is a
    case-insensitive regex anchored at the start, and the longest is tried first (its "Path Priority")."""
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/use-regex"] == "true"
    paths = [p for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]
    for candidate in sorted(paths, key=lambda p: len(p["path"]), reverse=True):
        if re.match(candidate["path"], path, re.IGNORECASE):
            service: str = candidate["backend"]["service"]["name"]
            return service
    raise AssertionError(f"no Ingress path takes {path}")


def endpoints(routes: list[BaseRoute], prefix: str = "") -> list[tuple[str, Any]]:
    """Each route's path (under `prefix`) and handler."""
    found = [(prefix + route.path, route.endpoint) for route in routes if isinstance(route, Route)]
    assert len(found) == len(routes), "a route that is not a plain Route"
    return found


ON_THE_VIDEO_NODE = {
    video_api.whip,
    video_api.whip_delete,
    video_api.whep,
    video_api.whep_delete,
    video_api.broadcast_status,
    video_api.start_camera,
    video_api.stop_camera,
    video_api.live_file,
}
"""The video's handlers that need the node holding the broadcast (its encode, its viewers) or its folder."""


def test_k8s_renders_every_object_into_the_kvorum_namespace(rendered: Objects) -> None:
    assert ("Namespace", "kvorum") in rendered
    for (kind, name), doc in rendered.items():
        assert kind == "Namespace" or doc["metadata"]["namespace"] == "kvorum", (kind, name)
        assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "kvorum", (kind, name)
    kinds = {kind for kind, _ in rendered}
    assert {"Deployment", "Service", "Ingress", "PersistentVolumeClaim", "ConfigMap"} <= kinds


def test_k8s_video_is_one_recreated_pod_writing_its_folder_on_a_rwx_claim(rendered: Objects) -> None:
    video = rendered["Deployment", VIDEO]
    # One home for every publisher: never two pods at once, not even during an upgrade.
    assert video["spec"]["replicas"] == 1
    assert video["spec"]["strategy"] == {"type": "Recreate"}
    pod, container = pod_of(rendered, VIDEO)
    assert_locked_down(pod, container)
    labels = video["spec"]["template"]["metadata"]["labels"]
    assert video["spec"]["selector"]["matchLabels"].items() <= labels.items()
    # The same node as the app pods: image, command, settings.
    _, app = pod_of(rendered, "kvorum")
    assert (container["image"], container["command"], container["envFrom"]) == (
        app["image"],
        ["kvorum", "serve"],
        app["envFrom"],
    )
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    # Where Kvorum itself will write the video, given this environment.
    env = container_env(rendered, container)
    folder = str(video_config(Settings.from_env(env), env).folder)
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert {folder, env["KVORUM_DATA_DIR"]} <= mounts.keys()  # the root file system is read-only
    assert not mounts[folder].get("readOnly")
    (volume,) = [v for v in pod["volumes"] if v["name"] == mounts[folder]["name"]]
    claim = rendered["PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"]]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    assert claim["spec"]["resources"]["requests"]["storage"]
    # Other pods may read the recordings (the claim is ReadWriteMany for that); only this one writes.
    writers = [name for name, read_only in claim_mounts(rendered, claim["metadata"]["name"]) if not read_only]
    assert writers == [VIDEO]


def test_k8s_ingress_sends_the_video_paths_to_the_video_pod(rendered: Objects) -> None:
    ingress = rendered["Ingress", "kvorum"]
    extension = video_api.extension
    for path, endpoint in [*endpoints(extension.root_routes()), *endpoints(extension.routes(), "/api/v1")]:
        sample = re.sub(r"\{[^}]+\}", "s-1", path)
        expected = VIDEO if endpoint in ON_THE_VIDEO_NODE else "kvorum"
        assert ingress_route(ingress, sample) == expected, sample
    for path in ("/", "/ws/council", "/api/v1/sessions/s-1/stream", "/api/v1/sessions/s-1", "/static/live.js"):
        assert ingress_route(ingress, path) == "kvorum", path
    # ingress-nginx refuses more than these characters in a Prefix or Exact path (strict-validate-path-type).
    for rule in ingress["spec"]["rules"]:
        for p in rule["http"]["paths"]:
            assert p["pathType"] == "ImplementationSpecific" or re.fullmatch(r"/[A-Za-z0-9/_-]*", p["path"]), p
    # The video Service reaches the video pod's HTTP port by the name the Ingress uses.
    service = rendered["Service", VIDEO]
    video = rendered["Deployment", VIDEO]
    assert service["spec"]["selector"].items() <= video["spec"]["template"]["metadata"]["labels"].items()
    _, container = pod_of(rendered, VIDEO)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    backends = [p["backend"]["service"] for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]
    for backend in (b for b in backends if b["name"] == VIDEO):
        (port,) = [p for p in service["spec"]["ports"] if p["name"] == backend["port"]["name"]]
        assert ports[port["targetPort"]] == int(container_env(rendered, container)["KVORUM_PORT"])


def test_k8s_turn_service_publishes_udp_3478_and_every_relay_port(rendered: Objects) -> None:
    coturn = rendered["Deployment", TURN]
    assert coturn["spec"]["replicas"] == 1 and coturn["spec"]["strategy"] == {"type": "Recreate"}
    pod, container = pod_of(rendered, TURN)
    assert_locked_down(pod, container)
    options = coturn_options(coturn_config(rendered)[1])
    relays = range(int(options["min-port"]), int(options["max-port"]) + 1)
    service = rendered["Service", TURN]
    assert service["spec"]["selector"].items() <= coturn["spec"]["template"]["metadata"]["labels"].items()
    # Public (a relay is announced with the LoadBalancer's address), and the client's own address kept.
    assert service["spec"]["type"] == "LoadBalancer" and service["spec"]["externalTrafficPolicy"] == "Local"
    assert options["external-ip"]
    ports = service["spec"]["ports"]
    assert {p["protocol"] for p in ports} == {"UDP"} and all(p["targetPort"] == p["port"] for p in ports)
    assert sorted(p["port"] for p in ports) == [int(options["listening-port"]), *relays]
    assert "no-tcp" in options and "no-tcp-relay" in options  # nothing listens where the Service has no port
    # One relay per WebRTC peer of the video pod: every viewer it admits, and a publisher.
    _, video = pod_of(rendered, VIDEO)
    env = container_env(rendered, video)
    assert video_config(Settings.from_env(env), env).max_viewers + 1 <= len(relays)


def test_k8s_ice_servers_name_the_turn_service_with_coturn_s_user(rendered: Objects) -> None:
    _, video = pod_of(rendered, VIDEO)
    env = container_env(rendered, video)
    # Kvorum's own parser, then aiortc's: aiortc drops a server it cannot use without a word.
    (server,) = video_config(Settings.from_env(env), env).ice_servers
    turn = connection_kwargs([server])
    options = coturn_options(coturn_config(rendered)[1])
    service = rendered["Service", TURN]
    assert turn["turn_server"] == (service["metadata"]["name"], int(options["listening-port"]))
    assert turn["turn_transport"] == "udp" and not turn["turn_ssl"]
    (published,) = [p for p in service["spec"]["ports"] if p["port"] == turn["turn_server"][1]]
    assert published["protocol"] == "UDP"
    # The user coturn is started with, and the password both read from the same Secret key.
    _, coturn = pod_of(rendered, TURN)
    (user,) = [expand(arg, container_env(rendered, coturn)) for arg in coturn["args"] if arg.startswith("--user=")]
    assert user == f"--user={turn['turn_username']}:{turn['turn_password']}"
    assert turn["turn_password"] == example_secrets()["kvorum-turn"]["password"]
    # The manifest itself holds a reference to the Secret, never the password.
    (setting,) = [v["value"] for v in video["env"] if v["name"] == "KVORUM_ICE_SERVERS"]
    assert "$(" in setting and turn["turn_password"] not in setting
    # The browsers' STUN server is coturn's public face: the address its relays are announced with.
    (stun,) = video_config(Settings.from_env(env), env).browser_ice_servers
    assert stun == f"stun:{options['external-ip']}:{options['listening-port']}"


def coturn() -> str:
    """Debian's turnserver; otherwise skip, or fail under KVORUM_REQUIRE_COTURN."""
    tool = shutil.which("turnserver")
    if tool is None:
        if os.environ.get("KVORUM_REQUIRE_COTURN"):
            raise AssertionError("turnserver is required here (Debian's coturn package)")
        pytest.skip("turnserver is not installed (Debian's coturn package)")
    return tool


def stun_answers(port: int) -> bool:
    """Whether 127.0.0.1:`port` tells us our address as it tells a browser (STUN, no credentials)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(0.5)
        request = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
        sock.sendto(bytes(request), ("127.0.0.1", port))
        try:
            response = stun.parse_message(sock.recv(2048))
        except (TimeoutError, ConnectionRefusedError):
            return False
        assert response.message_class == stun.Class.RESPONSE
        assert response.attributes["XOR-MAPPED-ADDRESS"] == sock.getsockname()
        return True


async def test_k8s_turn_config_gives_the_video_pod_a_relay_in_the_public_range(
    rendered: Objects, tmp_path: Path
) -> None:
    """coturn started as its pod starts it (the rendered config and arguments, the example password),
    only on loopback and another port; the video pod's ICE setting then gathers a relay through it,
    announced with external-ip on a port the Service publishes, as aiortc does for a publisher."""
    tool = coturn()
    path, text = coturn_config(rendered)
    options = coturn_options(text)
    (tmp_path / "turnserver.conf").write_text(text)
    _, container = pod_of(rendered, TURN)
    arguments = [expand(a, container_env(rendered, container)) for a in container["args"]]
    arguments = [str(tmp_path / "turnserver.conf") if a == path else a for a in arguments]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    here = ["--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", f"--listening-port={port}"]
    here += [f"--pidfile={tmp_path / 'turnserver.pid'}", f"--userdb={tmp_path / 'turndb'}"]
    log = tmp_path / "coturn.log"
    with log.open("w") as out:
        process = await asyncio.create_subprocess_exec(tool, *arguments, *here, stdout=out, stderr=subprocess.STDOUT)
    peer = None
    try:
        for _ in range(40):
            if stun_answers(port):
                break
            assert process.returncode is None, log.read_text()
            await asyncio.sleep(0.25)
        else:
            raise AssertionError(f"coturn never answered STUN:\n{log.read_text()}")
        _, video = pod_of(rendered, VIDEO)
        setting = container_env(rendered, video)["KVORUM_ICE_SERVERS"]
        servers = ice_servers(setting.replace(f"{TURN}:{options['listening-port']}", f"127.0.0.1:{port}"))
        peer = RTCPeerConnection(RTCConfiguration(iceServers=list(servers)))
        peer.addTransceiver("video", direction="sendonly")
        await peer.setLocalDescription(await peer.createOffer())
        candidates = re.findall(r"a=candidate:\S+ \d+ udp \d+ (\S+) (\d+) typ relay", peer.localDescription.sdp)
        assert candidates, log.read_text()
        for address, relay in candidates:
            assert address == options["external-ip"]
            assert int(options["min-port"]) <= int(relay) <= int(options["max-port"])
    finally:
        if peer is not None:
            await peer.close()
        process.terminate()
        await asyncio.wait_for(process.wait(), 10)
    assert "Bad configuration" not in log.read_text(), log.read_text()


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

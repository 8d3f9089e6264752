"""The deployment files in deploy/, as an operator would use them.

nginx: both configs pass ``nginx -t`` and, run for real on loopback ports in front of stand-in
nodes, redirect to HTTPS, spread requests over the nodes, skip a dead one, pass WebSocket upgrades,
deliver SSE unbuffered and uncompressed, serve /static/ and /live/ from disk, refuse large bodies.
Compose and Kubernetes are parsed and cross-checked (Docker and a cluster are not run here);
the systemd unit is verified by ``systemd-analyze`` where it exists. Every ``KVORUM_*`` name in
deploy/ must be one that session_server/config.py reads.
"""

from __future__ import annotations

import configparser
import datetime
import ipaddress
import json
import os
import re
import shlex
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from session_server.cli import parser

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
VM_NGINX = DEPLOY / "nginx" / "kvorum.conf"
COMPOSE_NGINX = DEPLOY / "compose" / "nginx.conf"
COMPOSE = DEPLOY / "compose" / "compose.yaml"
DOCKERFILE = DEPLOY / "Dockerfile"
K8S = DEPLOY / "k8s"
UNIT = DEPLOY / "systemd" / "kvorum@.service"
TARGET = DEPLOY / "systemd" / "kvorum.target"
ENV_EXAMPLE = DEPLOY / "systemd" / "kvorum.env.example"
SETTING = re.compile(r"KVORUM_[A-Z][A-Z_]*")

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
needs_nginx = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (.ci/run installs Debian's nginx)")


def known_settings() -> set[str]:
    names = set(SETTING.findall((ROOT / "session_server" / "config.py").read_text()))
    assert {"KVORUM_DATABASE_URL", "KVORUM_BROKER_URL", "KVORUM_PORT"} <= names, names
    return names


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# --- nginx -----------------------------------------------------------------------------------


class _NodeHandler(BaseHTTPRequestHandler):
    """A stand-in Kvorum node: answers with its name, streams SSE, accepts a WebSocket upgrade."""

    protocol_version = "HTTP/1.1"
    server: Node

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _record(self) -> None:
        self.server.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
        self.server.peers.add(self.client_address)

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._record()
        if self.path.startswith("/ws/"):
            self._websocket()
        elif self.path.endswith("/stream"):
            self._events()
        elif self.path == "/healthz":
            self._reply(self.server.health, {"status": "ok"})
        else:
            self._reply(200, {"node": self.server.name})

    def do_POST(self) -> None:
        self._record()
        size = len(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        self._reply(200, {"node": self.server.name, "bytes": size})

    def _events(self) -> None:
        # No X-Accel-Buffering here, unlike the app: the proxy config alone must not buffer.
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for event in (b"id: 1\nevent: vote.opened\ndata: {}\n\n", None, b"id: 2\nevent: vote.closed\ndata: {}\n\n"):
            if event is None:
                self.server.release.wait(10)
                continue
            self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def _websocket(self) -> None:
        self.close_connection = True
        if self.headers.get("Upgrade", "").lower() != "websocket" or "upgrade" not in self.headers.get(
            "Connection", ""
        ).lower().replace(" ", "").split(","):
            self._reply(400, {"error": "not an upgrade"})
            return
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.end_headers()
        self.wfile.flush()
        while data := self.connection.recv(4096):  # echo until the proxy closes
            self.connection.sendall(data)


class Node(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, name: str, release: threading.Event) -> None:
        super().__init__(("127.0.0.1", 0), _NodeHandler)
        self.name = name
        self.release = release
        self.health = 200
        self.seen: list[tuple[str, dict[str, str]]] = []
        self.peers: set[tuple[str, int]] = set()  # the proxy's connections to this node
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        port: int = self.server_address[1]
        return port

    def stop(self) -> None:
        if self.thread.is_alive():
            self.shutdown()
            self.server_close()
            self.thread.join(5)


def write_self_signed(directory: Path) -> None:
    """A key and certificate for 127.0.0.1, as /etc/ssl/kvorum/{privkey,fullchain}.pem."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "privkey.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    (directory / "fullchain.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def upstream_servers(text: str) -> list[str]:
    block = re.search(r"upstream\s+kvorum\s*\{(.*?)\}", text, re.S)
    assert block, "no `upstream kvorum` block"
    return re.findall(r"^\s*server\s+(\S+?)[\s;]", block.group(1), re.M)


def location(text: str, match: str) -> str:
    """The body of the location block whose header is ``location <match> {``."""
    found = re.search(r"location\s+" + re.escape(match) + r"\s*\{(.*?)\n\s*\}", text, re.S)
    assert found, f"no location {match}"
    return found.group(1)


def seconds(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([smhd]?)", value).groups()  # type: ignore[union-attr]
    return int(number) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[unit]


# What the main nginx.conf of an operator brings around an included site; gzip on for SSE's type
# too, so the SSE location has to switch it off itself.
MAIN_CONF = """\
{user}
pid {prefix}/nginx.pid;
events {{ worker_connections 256; }}
http {{
    types {{ text/html html; text/css css; application/javascript js; application/json json;
             application/vnd.apple.mpegurl m3u8; video/mp2t ts; }}
    default_type application/octet-stream;
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    gzip on;
    gzip_types text/event-stream application/json;
    include {site};
}}
"""


@dataclass
class Proxy:
    """A deploy/ nginx config rewritten to run here: temp paths, loopback ports, stand-in nodes."""

    source: Path
    prefix: Path
    nodes: list[Node] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    http_port: int = 0
    https_port: int = 0

    def __post_init__(self) -> None:
        self.certs, self.web, self.data = self.prefix / "certs", self.prefix / "web", self.prefix / "data"
        write_self_signed(self.certs)
        text = self.source.read_text()
        for old, new in (
            ("/etc/ssl/kvorum/", self.certs),
            ("/srv/kvorum/web/", self.web),
            ("/var/lib/kvorum/", self.data),
        ):
            assert old in text, f"{self.source.name} no longer uses {old}"
            text = text.replace(old, f"{new}/")
        text = re.sub(r"^\s*listen\s+\[::\]:\d+[^;]*;\n", "", text, flags=re.M)  # no IPv6 needed here
        self.http_port, self.https_port = free_port(), free_port()
        text, plain = re.subn(r"listen\s+80;", f"listen 127.0.0.1:{self.http_port};", text)
        text, tls = re.subn(r"listen\s+443\s+ssl", f"listen 127.0.0.1:{self.https_port} ssl", text)
        assert (plain, tls) == (1, 1), "expected one `listen 80;` and one `listen 443 ssl` server"
        for i, address in enumerate(upstream_servers(text)):
            self.nodes.append(Node(f"node{i + 1}", self.release))
            text = text.replace(f"server {address} ", f"server 127.0.0.1:{self.nodes[-1].port} ", 1)
        (self.prefix / "site.conf").write_text(text)
        user = "user root;" if os.geteuid() == 0 else ""  # workers must read the temp files
        main = MAIN_CONF.format(user=user, prefix=self.prefix, site=self.prefix / "site.conf")
        (self.prefix / "nginx.conf").write_text(main)

    def nginx(self, *args: str) -> list[str]:
        assert NGINX
        return [NGINX, "-p", f"{self.prefix}/", "-c", "nginx.conf", "-e", "error.log", *args]

    def error_log(self) -> str:
        log = self.prefix / "error.log"
        return log.read_text() if log.exists() else ""

    def tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.certs / "fullchain.pem"))

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=f"https://127.0.0.1:{self.https_port}", verify=self.tls(), timeout=5)

    def served_by_nodes(self, path: str) -> list[dict[str, str]]:
        return [headers for node in self.nodes for seen, headers in node.seen if seen == path]


@pytest.mark.parametrize("conf", [VM_NGINX, COMPOSE_NGINX], ids=["vm", "compose"])
@needs_nginx
def test_nginx_accepts_the_config(conf: Path, tmp_path: Path) -> None:
    proxy = Proxy(conf, tmp_path)
    try:
        result = subprocess.run(proxy.nginx("-t"), capture_output=True, text=True, timeout=30)
    finally:
        for node in proxy.nodes:
            node.stop()
    assert result.returncode == 0, result.stderr + proxy.error_log()
    assert "test is successful" in result.stderr


@pytest.fixture(params=[VM_NGINX, COMPOSE_NGINX], ids=["vm", "compose"])
def proxy(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Proxy]:
    if NGINX is None:
        pytest.skip("nginx is not installed (.ci/run installs Debian's nginx)")
    proxy = Proxy(request.param, tmp_path)
    (proxy.web / "app.js").parent.mkdir(parents=True)
    (proxy.web / "app.js").write_text("export const greeting = 'Вітаємо';\n" * 20)
    (proxy.data / "hls" / "s1").mkdir(parents=True)
    (proxy.data / "hls" / "s1" / "index.m3u8").write_text("#EXTM3U\n#EXT-X-TARGETDURATION:2\nseg0.ts\n")
    (proxy.data / "hls" / "s1" / "seg0.ts").write_bytes(b"\x47" * 188)
    process = subprocess.Popen(proxy.nginx("-g", "daemon off;"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:  # wait until nginx listens, or report why it stopped
            assert process.poll() is None, f"nginx exited: {proxy.error_log()}"
            try:
                socket.create_connection(("127.0.0.1", proxy.https_port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, f"nginx did not listen within 10 s: {proxy.error_log()}"
                time.sleep(0.05)
        yield proxy
    finally:
        proxy.release.set()
        process.terminate()
        process.wait(10)
        for node in proxy.nodes:
            node.stop()


def test_plain_http_is_redirected_to_https(proxy: Proxy) -> None:
    response = httpx.get(f"http://127.0.0.1:{proxy.http_port}/api/v1/sessions?council=c8", timeout=5)
    assert response.status_code == 301
    assert response.headers["location"] == "https://127.0.0.1/api/v1/sessions?council=c8"


def test_requests_spread_over_every_node_with_the_client_facts(proxy: Proxy) -> None:
    with proxy.client() as client:
        answers = [client.get("/api/v1/sessions", headers={"X-Forwarded-For": "203.0.113.9"}) for _ in range(6)]
    assert [r.status_code for r in answers] == [200] * 6
    assert {r.json()["node"] for r in answers} == {node.name for node in proxy.nodes}
    assert len(proxy.nodes) >= 2
    for response in answers:
        assert response.headers["strict-transport-security"].startswith("max-age=")
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    for headers in proxy.served_by_nodes("/api/v1/sessions"):
        # A forged X-Forwarded-For is replaced: the app limits WebSockets per client address.
        assert headers["x-forwarded-for"] == "127.0.0.1"
        assert headers["x-forwarded-proto"] == "https"
        assert headers["host"] == "127.0.0.1"
        assert "connection" not in headers  # not "Connection: close"
    # Keepalive: later requests reuse the proxy's connections to the nodes.
    assert sum(len(node.peers) for node in proxy.nodes) < len(answers)


def test_a_node_that_is_down_is_skipped(proxy: Proxy) -> None:
    down, *up = proxy.nodes
    down.stop()
    with proxy.client() as client:
        answers = [client.get("/api/v1/sessions/s1") for _ in range(4)]
    assert [r.status_code for r in answers] == [200] * 4
    assert {r.json()["node"] for r in answers} <= {node.name for node in up}


def test_websocket_upgrade_reaches_a_node_and_carries_frames(proxy: Proxy) -> None:
    raw = socket.create_connection(("127.0.0.1", proxy.https_port), timeout=5)
    with proxy.tls().wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        tls.sendall(
            b"GET /ws/sessions/s1 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = tls.recv(4096)
            assert chunk, f"closed during the handshake: {head!r}"
            head += chunk
        assert head.startswith(b"HTTP/1.1 101"), head
        tls.sendall(b"\x81\x04ping")
        assert tls.recv(4096) == b"\x81\x04ping"
    for match in ("/ws/", "~ ^/api/v1/sessions/[^/]+/stream$"):
        # Server heartbeats come every ~20 s; a short proxy timeout would cut quiet clients.
        timeout = re.search(r"proxy_read_timeout\s+(\w+);", location(proxy.source.read_text(), match))
        assert timeout and seconds(timeout.group(1)) >= 300, match


def test_sse_events_arrive_as_written_and_uncompressed(proxy: Proxy) -> None:
    with proxy.client() as client:
        url = "/api/v1/sessions/s1/stream"
        with client.stream("GET", url, headers={"Accept-Encoding": "gzip"}) as response:
            assert response.status_code == 200
            assert "content-encoding" not in response.headers
            lines = response.iter_lines()
            # The node holds the rest of the stream back: a buffering proxy times out here.
            assert next(lines) == "id: 1"
            proxy.release.set()
            assert [line for line in lines if line.startswith("id:")] == ["id: 2"]


def test_static_files_come_from_disk_compressed_and_cached(proxy: Proxy) -> None:
    with proxy.client() as client:
        response = client.get("/static/app.js", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.text == (proxy.web / "app.js").read_text()
    assert response.headers["content-type"] == "application/javascript"
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["cache-control"] == "max-age=600"
    assert response.headers["strict-transport-security"].startswith("max-age=")  # kept beside `expires`
    assert proxy.served_by_nodes("/static/app.js") == []


def test_live_video_comes_from_the_data_folder(proxy: Proxy) -> None:
    with proxy.client() as client:
        playlist = client.get("/live/s1/index.m3u8")
        segment = client.get("/live/s1/seg0.ts")
    assert playlist.status_code == segment.status_code == 200
    assert playlist.text.startswith("#EXTM3U")
    assert playlist.headers["cache-control"] == "max-age=1"
    assert segment.content == b"\x47" * 188
    assert segment.headers["cache-control"] == "max-age=604800"
    assert proxy.served_by_nodes("/live/s1/index.m3u8") == []


def test_bodies_a_little_over_the_apps_64_kib_are_refused_at_the_proxy(proxy: Proxy) -> None:
    url = "/api/v1/sessions/s1/commands"
    with proxy.client() as client:
        fits = client.post(url, content=b"x" * 64 * 1024)
        too_big = client.post(url, content=b"x" * (80 * 1024 + 1))
    assert fits.status_code == 200
    assert fits.json()["bytes"] == 64 * 1024
    assert too_big.status_code == 413


def test_metrics_are_not_public(proxy: Proxy) -> None:
    with proxy.client() as client:
        assert client.get("/metrics").status_code == 403
    assert proxy.served_by_nodes("/metrics") == []


def test_vm_and_compose_configs_route_alike() -> None:
    """Only the upstream addresses, IPv6 listens and server_name may differ between the two."""

    def routes(path: Path) -> list[str]:
        lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
        skip = ("server ", "listen [::]", "server_name ")
        return [line for line in lines if line and not line.startswith(skip)]

    assert routes(VM_NGINX) == routes(COMPOSE_NGINX)


def test_vm_upstream_is_where_the_systemd_nodes_listen() -> None:
    host = env_example()["KVORUM_HOST"]
    servers = upstream_servers(VM_NGINX.read_text())
    assert len(servers) >= 2
    assert {server.rpartition(":")[0] for server in servers} == {host}
    assert len({server.rpartition(":")[2] for server in servers}) == len(servers)


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
        # Only nginx is reachable from outside, which is what makes FORWARDED_ALLOW_IPS=* safe.
        assert "ports" not in node, name
        assert environment(node).get("FORWARDED_ALLOW_IPS") == "*", name


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


def env_example() -> dict[str, str]:
    lines = (line.strip() for line in ENV_EXAMPLE.read_text().splitlines())
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


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
    assert not unknown, f"not read by session_server/config.py: {unknown}"

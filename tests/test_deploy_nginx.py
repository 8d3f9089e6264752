"""nginx in front of Kvorum nodes: both configs pass ``nginx -t`` and, run for real on loopback
ports in front of stand-in nodes, redirect to HTTPS, spread requests over the nodes, skip a dead
one, pass WebSocket upgrades, deliver SSE unbuffered and uncompressed, serve /static/ and /live/
from disk and refuse large bodies.
"""

from __future__ import annotations

import os
import re
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from deploy_support import (
    COMPOSE_NGINX,
    NGINX,
    VM_NGINX,
    Node,
    env_example,
    free_port,
    needs_nginx,
    upstream_servers,
    write_self_signed,
)


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
        while self.https_port == self.http_port:  # a port freed a moment ago may come back at once:
            self.https_port = free_port()  # one port for both, and nginx takes the plain server for TLS
        text, plain = re.subn(r"listen\s+80;", f"listen 127.0.0.1:{self.http_port};", text)
        text, tls = re.subn(r"listen\s+443\s+ssl", f"listen 127.0.0.1:{self.https_port} ssl", text)
        assert (plain, tls) == (1, 1), "expected one `listen 80;` and one `listen 443 ssl` server"
        for i, address in enumerate(upstream_servers(text)):
            self.nodes.append(Node(f"node{i + 1}", self.release))
            text = text.replace(f"server {address} ", f"server 127.0.0.1:{self.nodes[-1].port} ")  # every upstream
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
    (proxy.data / "video" / "s1").mkdir(parents=True)
    (proxy.data / "video" / "s1" / "index.m3u8").write_text("#EXTM3U\n#EXT-X-TARGETDURATION:2\nseg-00001.ts\n")
    (proxy.data / "video" / "s1" / "seg-00001.ts").write_bytes(b"\x47" * 188)
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
        segment = client.get("/live/s1/seg-00001.ts")
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

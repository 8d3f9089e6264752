"""What the deploy tests share: where the files are, the settings Kvorum reads, a stand-in node."""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import re
import shutil
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

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
    names |= set(SETTING.findall((ROOT / "streaming" / "config.py").read_text()))  # the video's own
    names |= set(SETTING.findall((ROOT / "portal_bridge" / "config.py").read_text()))  # the portal's own
    assert {"KVORUM_DATABASE_URL", "KVORUM_BROKER_URL", "KVORUM_PORT"} <= names, names
    return names


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


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


def upstream_servers(text: str) -> list[str]:
    block = re.search(r"upstream\s+kvorum\s*\{(.*?)\}", text, re.S)
    assert block, "no `upstream kvorum` block"
    return re.findall(r"^\s*server\s+(\S+?)[\s;]", block.group(1), re.M)


def env_example() -> dict[str, str]:
    lines = (line.strip() for line in ENV_EXAMPLE.read_text().splitlines())
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


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

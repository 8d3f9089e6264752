"""Where a webhook may be sent: only to the outside world, unless an administrator says otherwise.

A webhook's URL is typed by an administrator, but the server makes the request, from inside the
council's network: left unchecked, ``http://169.254.169.254/…`` reads the cloud's instance secrets,
``http://127.0.0.1:5432`` probes the database, and a delivery's error tells which ports answer. So:

- a target is resolved as the server will connect to it (``getaddrinfo``: every spelling of an
  address, ``2130706433``, ``0x7f.1``, ``[::ffff:127.0.0.1]``, and DNS names, lands on the address
  it means) and refused when any address it resolves to is not a global unicast one: loopback,
  private, shared, link-local (cloud metadata), unique-local, multicast, unspecified, reserved;
- the check runs again at every delivery, and the request goes to the address just checked (the
  URL's host stays in ``Host`` and in TLS's SNI and certificate check), so a name that changes its
  answer after the check (DNS rebinding) reaches nothing inside;
- ``KVORUM_WEBHOOK_NETWORKS`` lists networks an administrator allows on purpose (a receiver on the
  council's own network, or on this machine in tests).

A delivery's recorded error is a class (``HTTP 5xx``, ``timeout``, ``connection failed``), never the
peer's words.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(Exception):
    """A webhook target the server will not call; the message says why, without the peer's words."""


@dataclass(frozen=True, slots=True)
class Target:
    """A checked target: the URL, and the address the request goes to."""

    url: httpx.URL
    address: Address


def networks(spec: str) -> tuple[Network, ...]:
    """``KVORUM_WEBHOOK_NETWORKS``: comma-separated networks (``10.20.0.0/16, 127.0.0.1/32``)."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip())


def outside(address: Address) -> bool:
    """Whether ``address`` is a global unicast address (an IPv4-mapped IPv6 one judged as its IPv4)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not (address.is_multicast or address.is_unspecified or address.is_reserved)


def allowed(address: Address, allow: Sequence[Network]) -> bool:
    """Whether a webhook may reach ``address``: outside, or in a network the administrator allows."""
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return outside(address) or any(address in n or (mapped is not None and mapped in n) for n in allow)


async def check(url: str, allow: Sequence[Network]) -> Target:
    """Resolve ``url``'s host as a connection would; TargetRefused unless every address is allowed."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError):
        raise TargetRefused("the URL is malformed") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise TargetRefused("the URL must be http(s) with a host")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        found = await asyncio.get_running_loop().getaddrinfo(parsed.host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise TargetRefused(f"the host {parsed.host!r} does not resolve") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in found]
    refused = [a for a in addresses if not allowed(a, allow)]
    if refused or not addresses:
        raise TargetRefused(
            f"the host {parsed.host!r} resolves to {refused[0] if refused else 'nothing'}, an address inside "
            "(loopback, private, link-local, multicast or reserved); allow its network in KVORUM_WEBHOOK_NETWORKS "
            "if that is meant"
        )
    return Target(parsed, addresses[0])


async def post(client: httpx.AsyncClient, target: Target, body: bytes, headers: dict[str, str]) -> httpx.Response:
    """POST to the checked address, the URL's host in ``Host`` and TLS's SNI (and certificate check)."""
    host = target.url.host
    netloc = host if target.url.port is None else f"{host}:{target.url.port}"
    return await client.post(
        target.url.copy_with(host=str(target.address)),
        content=body,
        headers={**headers, "Host": netloc},
        extensions={"sni_hostname": host},
    )


def failure(exc: BaseException | None = None, status: int | None = None) -> str:
    """A delivery's failure as a class, never the peer's words (which would make webhooks a port scanner)."""
    if status is not None:
        return f"HTTP {status // 100}xx"
    if isinstance(exc, TargetRefused):
        return "refused: the target resolves to an address inside"
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        return "connection failed"
    return "transport error"

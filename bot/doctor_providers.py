"""Text model and fal checks, on calls that cost nothing: listing models (OpenAI-compatible
`GET /models`, Anthropic `GET /v1/models/{model}`, which also resolves aliases), fal's pricing
(an authenticated read of the Platform API), and where generated media may come from."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import quote

import httpx

from bot.bootstrap import DEFAULT_MODELS
from bot.doctor_check import Check, json_of, ok, problem, unreachable, warning
from bot.settings import Settings
from pipeline.providers.prices import MEDIA_PRICES, TEXT_PRICES

SET_PRICES = "set LLM_PRICE_INPUT_PER_MTOK and LLM_PRICE_OUTPUT_PER_MTOK (USD per million tokens)"


async def text_checks(settings: Settings, http: httpx.AsyncClient) -> list[Check]:
    if settings.llm_provider == "offline":
        return [ok("text model", "offline (no key, no network, $0).")]
    model = settings.llm_model or DEFAULT_MODELS[settings.llm_provider]
    try:
        if settings.llm_provider == "anthropic":
            found = await _anthropic_model(settings, http, model)
        else:
            found = await _openai_model(settings, http, model)
    except httpx.HTTPError as exc:
        return [unreachable("text model", "the text model's server", exc, "LLM_BASE_URL")]
    return [found, _price(settings, model)]


async def _openai_model(settings: Settings, http: httpx.AsyncClient, model: str) -> Check:
    base = (settings.llm_base_url or "https://api.openai.com/v1").rstrip("/")
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    response = await http.get(f"{base}/models", headers=headers, timeout=15)
    if response.status_code in (401, 403):
        return _key_refused(response.status_code)
    data = json_of(response).get("data")
    if response.status_code != 200 or not isinstance(data, list):
        return warning(
            "text model",
            f"the server does not list its models (HTTP {response.status_code}), so LLM_MODEL "
            f"{model} and LLM_API_KEY are not checked.",
        )
    ids = sorted(str(m.get("id")) for m in data if isinstance(m, dict))
    if model in ids:
        return ok("text model", f"{model} is listed and the key is accepted.")
    return _unknown_model(model, ids)


async def _anthropic_model(settings: Settings, http: httpx.AsyncClient, model: str) -> Check:
    base = (settings.llm_base_url or "https://api.anthropic.com").rstrip("/")
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else ""
    headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}
    response = await http.get(f"{base}/v1/models/{quote(model, safe='')}", headers=headers)
    if response.status_code in (401, 403):
        return _key_refused(response.status_code)
    if response.status_code == 200:
        return ok("text model", f"{model} exists and the key is accepted.")
    if response.status_code == 404:
        listed = await http.get(f"{base}/v1/models", params={"limit": "100"}, headers=headers)
        data = json_of(listed).get("data")
        ids = (
            [str(m.get("id")) for m in data if isinstance(m, dict)]
            if isinstance(data, list)
            else []
        )
        return _unknown_model(model, ids)
    return warning("text model", f"{model} could not be checked (HTTP {response.status_code}).")


def _key_refused(status: int) -> Check:
    return problem(
        "text model",
        f"the server refused LLM_API_KEY (HTTP {status}).",
        "put a key for this LLM_PROVIDER and LLM_BASE_URL in LLM_API_KEY.",
    )


def _unknown_model(model: str, ids: list[str]) -> Check:
    some = ", ".join(ids[:8]) + (", …" if len(ids) > 8 else "")
    return problem(
        "text model",
        f"LLM_MODEL {model} is not a model this server has"
        + (f" (it lists {some})." if ids else "."),
        "set LLM_MODEL to one it lists.",
    )


def _price(settings: Settings, model: str) -> Check:
    if settings.llm_price_input is not None and settings.llm_price_output is not None:
        return ok("text price", f"{model}: from LLM_PRICE_INPUT/OUTPUT_PER_MTOK.")
    if model in TEXT_PRICES:
        return ok(
            "text price",
            f"{model}: ${TEXT_PRICES[model][0]:g} / ${TEXT_PRICES[model][1]:g} "
            "per million tokens (shipped table).",
        )
    return warning(
        "text price",
        f"{model} has no known price: its calls count as $0 and DAILY_BUDGET_USD cannot hold them.",
        SET_PRICES + ".",
    )


async def fal_checks(settings: Settings, http: httpx.AsyncClient) -> list[Check]:
    if settings.fal_key is None:
        return [ok("fal", "not set: images and video stay offline ($0).")]
    models = [m for m in (settings.image_model, settings.video_model) if m]
    headers = {"Authorization": f"Key {settings.fal_key.get_secret_value()}"}
    try:
        response = await http.get(
            settings.fal_api_url.rstrip("/") + "/models/pricing",
            params=[("endpoint_id", m) for m in models],
            headers=headers,
            timeout=15,
        )
    except httpx.HTTPError as exc:
        return [
            unreachable("fal", "fal's API", exc, "FAL_API_URL"),
            *await media_host_checks(settings),
        ]
    checks: list[Check]
    if response.status_code in (401, 403):
        checks = [
            problem(
                "fal key",
                f"fal refused FAL_KEY (HTTP {response.status_code}).",
                "make a key at fal.ai/dashboard/keys and put it in FAL_KEY.",
            )
        ]
    elif response.status_code == 404:
        checks = [
            problem(
                "fal models",
                f"fal does not know {' or '.join(models)}.",
                "set IMAGE_MODEL (and VIDEO_MODEL) to a fal endpoint id.",
            )
        ]
    elif response.status_code != 200:
        checks = [warning("fal key", f"not checked: fal answered HTTP {response.status_code}.")]
    else:
        listed = json_of(response).get("prices")
        entries = listed if isinstance(listed, list) else []
        prices = {str(p.get("endpoint_id")) for p in entries if isinstance(p, dict)}
        checks = [ok("fal key", "accepted.")]
        checks += [_media_price(settings, m, m in prices) for m in models]
    return checks + await media_host_checks(settings)


def _media_price(settings: Settings, model: str, listed: bool) -> Check:
    setting = "IMAGE_PRICE_USD" if model == settings.image_model else "VIDEO_PRICE_USD"
    ours = settings.image_price_usd if setting == "IMAGE_PRICE_USD" else settings.video_price_usd
    name = f"fal model {model}"
    if not listed:
        return problem(
            name, "fal does not list it.", f"set {setting[:5]}_MODEL to a fal endpoint id."
        )
    if ours is None and model not in MEDIA_PRICES:
        return warning(
            name,
            "exists, but its price is not known here: it counts as $0 against DAILY_BUDGET_USD.",
            f"set {setting} to its price per output (see its page on fal.ai).",
        )
    return ok(name, "exists, and its price is known.")


async def media_host_checks(settings: Settings) -> list[Check]:
    """Downloads are refused from a name that resolves to a non-public address."""
    checks = []
    for entry in settings.media_hosts:
        host = entry.removeprefix("*.").rsplit(":", 1)[0] if "]" not in entry else entry
        name = f"media host {entry}"
        if _literal(host.strip("[]")):
            checks.append(ok(name, "an address literal, allowed as listed."))
            continue
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, 443, type=socket.SOCK_STREAM)
        except OSError as exc:
            checks.append(warning(name, f"does not resolve here ({exc.strerror or exc})."))
            continue
        private = sorted({str(i[4][0]) for i in infos if not _public(str(i[4][0]))})
        if private:
            checks.append(
                problem(
                    name,
                    f"resolves to non-public {', '.join(private)}: downloads from it are refused.",
                    "remove it from MEDIA_HOSTS, or list the address itself.",
                )
            )
        else:
            checks.append(ok(name, "resolves to public addresses only."))
    return checks


def _literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_loopback or ip.is_private or ip.is_multicast)

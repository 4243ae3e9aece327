"""HTTP for the poller: one conditional GET under a total deadline, every hop checked.

Why it is built this way:

- A feed URL is input from outside: a redirect (or a DNS name) can point the poller at the
  machine it runs on, a private network or a cloud metadata service. Each hop's address is
  checked before connecting, the HTTP client's own resolver refuses a non-allowed address when
  it connects (a name that resolves differently the second time is caught there), and the
  connected peer is checked again before a body is read. Only global unicast addresses are
  allowed unless a network is listed in the allow-list setting.
- The deadline covers the whole fetch (every hop and the whole body), not each read: a server
  trickling one byte a second cannot hold a worker for longer than the deadline.
- Bodies are read as a stream and cut at a byte cap, so one huge feed cannot eat the memory.
- Per-host politeness (:class:`HostGate`): at most N connections to a host and a minimum gap
  between the starts of two requests to it, whatever the global concurrency is.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

ACCEPT = ("application/rss+xml, application/atom+xml, application/rdf+xml, "
          "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5")
MAX_REDIRECTS = 5

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class Blocked(Exception):
    """A URL or a connected peer the poller must not talk to (why in the message)."""


def parse_networks(text: str | None) -> list[IPNetwork]:
    """``127.0.0.0/8, 10.1.2.3`` -> networks (the allow-list setting's syntax)."""
    out: list[IPNetwork] = []
    for part in (text or "").replace(";", ",").split(","):
        if part.strip():
            out.append(ipaddress.ip_network(part.strip(), strict=False))
    return out


@functools.lru_cache(maxsize=4096)
def _allowed(addr: str, allow: tuple[IPNetwork, ...]) -> bool:
    return address_allowed(addr, allow)


def allowed_cached(addr: str, allow: list[IPNetwork]) -> bool:
    """:func:`address_allowed` remembered per address (a poll checks the same few hosts'
    addresses over and over; parsing them costs more than the rest of a 304)."""
    return _allowed(addr, tuple(allow))


def address_allowed(addr: str | IPAddress, allow: Iterable[IPNetwork] = ()) -> bool:
    """True for a global unicast address, or one inside an explicitly allowed network.

    ``is_global`` is False for loopback, RFC 1918 private, link-local (169.254.169.254, the
    cloud metadata address, is one), carrier-grade NAT (100.100.100.200, another metadata
    address, is one), unique-local IPv6 (fd00:ec2::254) and reserved ranges.
    """
    ip = ipaddress.ip_address(addr) if isinstance(addr, str) else addr
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip.sixtofour is not None:
            ip = ip.sixtofour
    if any(ip.version == net.version and ip in net for net in allow):
        return True
    return ip.is_global and not ip.is_multicast


Resolver = Callable[[str, int], Awaitable[list[str]]]


async def system_resolver(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to (what the HTTP client will connect to)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


@functools.lru_cache(maxsize=4096)
def _literal(host: str) -> list[str] | None:
    """``[address]`` when ``host`` is an IP address literal, None for a name."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        return None


async def check_url(url: str, allow: list[IPNetwork], resolver: Resolver = system_resolver
                    ) -> None:
    """Raise :class:`Blocked` unless ``url`` is http(s) and every address of its host is allowed."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Blocked(f"not an http(s) URL: {url[:200]}")
    host = parts.hostname
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addrs = _literal(host)
    if addrs is None:
        try:
            addrs = await resolver(host, port)
        except OSError as exc:
            raise aiohttp.ClientConnectionError(f"cannot resolve {host}: {exc}") from None
    for addr in addrs:
        if not allowed_cached(addr, allow):
            raise Blocked(f"{host} resolves to {addr}, a non-public address")


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` (seconds or an HTTP date) -> seconds from now."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def cache_lifetime(cache_control: str | None, expires: str | None, date: str | None = None,
                   now: float | None = None) -> float | None:
    """Seconds the response says it stays fresh (``max-age``/``s-maxage``, else ``Expires``)."""
    if cache_control:
        directives = {}
        for part in cache_control.lower().split(","):
            name, _, val = part.strip().partition("=")
            directives[name] = val.strip().strip('"')
        for name in ("s-maxage", "max-age"):
            if directives.get(name, "").isdigit():
                return float(directives[name])
        if "no-cache" in directives or "no-store" in directives:
            return 0.0
    if expires:
        try:
            exp = parsedate_to_datetime(expires).timestamp()
        except (TypeError, ValueError, IndexError):
            return 0.0  # an invalid Expires means "already expired"
        base = now if now is not None else time.time()
        if date:
            with contextlib.suppress(TypeError, ValueError, IndexError):
                base = parsedate_to_datetime(date).timestamp()
        return max(0.0, exp - base)
    return None


class CheckingResolver(AbstractResolver):
    """The HTTP client's resolver: a name is connected to only if every address it has is
    allowed. The check happens where the connection is made, so a name that resolves to
    something else than :func:`check_url` saw is refused too."""

    def __init__(self, allow: list[IPNetwork]) -> None:
        self.allow = allow
        self.inner = ThreadedResolver()

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        results = await self.inner.resolve(host, port, family)
        for r in results:
            if not address_allowed(r["host"], self.allow):
                raise Blocked(f"{host} resolves to {r['host']}, a non-public address")
        return results

    async def close(self) -> None:
        await self.inner.close()


class ClientPool:
    """One aiohttp session for every feed: keep-alive per host, HTTP/1.1.

    Why aiohttp and one session: its connection pool is a dict keyed by host, so a request
    costs the same with thousands of hosts kept alive, and its per-request CPU is about half
    of httpx's (the poller's main cost once parsing is cheap). HTTP/2 is not offered: a poller
    sends at most a couple of requests per host at a time, seconds apart, so multiplexing has
    little to win. The session is made on first use, inside the running event loop; the TLS
    context is built once. ``allow`` is the address allow-list the resolver enforces.
    """

    def __init__(self, headers: dict[str, str], per_host: int, allow: Iterable[IPNetwork] = (),
                 keepalive: float = 15.0) -> None:
        import ssl

        import certifi

        self.headers = headers
        self.per_host = max(1, per_host)
        self.allow = list(allow)
        self.keepalive = keepalive
        self.ssl = ssl.create_default_context(cafile=certifi.where())
        self.session: aiohttp.ClientSession | None = None

    def _session(self) -> aiohttp.ClientSession:
        if self.session is None or self.session.closed:
            connector = aiohttp.TCPConnector(
                limit=0, limit_per_host=self.per_host, ssl=self.ssl,
                keepalive_timeout=self.keepalive, resolver=CheckingResolver(self.allow),
                ttl_dns_cache=60)
            self.session = aiohttp.ClientSession(
                connector=connector, headers=self.headers,
                cookie_jar=aiohttp.DummyCookieJar(),  # one feed's cookies are not another's
                trust_env=False,  # a proxy would hide the peer the address checks look at
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=60, sock_read=60),
                auto_decompress=True, raise_for_status=False)
        return self.session

    def request(self, url: str, headers: dict[str, str]) -> Any:
        """A GET (no redirects followed) to use in ``async with``."""
        return self._session().get(url, headers=headers, allow_redirects=False)

    async def aclose(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None

    async def __aenter__(self) -> ClientPool:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


@dataclass
class FetchResult:
    status: int  # 0 when no HTTP answer came back
    content: bytes | None = None
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    retry_after: float | None = None
    cache_seconds: float | None = None
    error: str | None = None
    error_kind: str | None = None  # timeout, network, blocked, too_large, http
    final_url: str | None = None
    elapsed: float = 0.0


async def fetch(client: ClientPool, url: str, *, etag: str | None = None,
                last_modified: str | None = None, max_bytes: int, deadline: float,
                allow: list[IPNetwork], resolver: Resolver = system_resolver,
                max_redirects: int = MAX_REDIRECTS) -> FetchResult:
    """One conditional GET (redirects followed by hand, each hop checked); never raises."""
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    start = time.monotonic()
    current = url
    try:
        async with asyncio.timeout(deadline):
            for _ in range(max_redirects + 1):
                await check_url(current, allow, resolver)
                result, location = await _hop(client, current, headers, max_bytes, allow)
                if location is not None:
                    current = location
                    continue
                assert result is not None
                return _done(result, start)
            return _done(FetchResult(0, error=f"more than {max_redirects} redirects",
                                     error_kind="redirects", final_url=current), start)
    except aiohttp.ServerTimeoutError as exc:  # a single connect or read: before TimeoutError
        return _done(FetchResult(0, error=f"{type(exc).__name__}: {exc}", error_kind="timeout",
                                 final_url=current), start)
    except TimeoutError:
        return _done(FetchResult(0, error=f"deadline of {deadline:g} s exceeded",
                                 error_kind="timeout", final_url=current), start)
    except Blocked as exc:
        return _done(FetchResult(0, error=f"blocked: {exc}", error_kind="blocked",
                                 final_url=current), start)
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        cause = exc.__cause__ if isinstance(exc.__cause__, Blocked) else None
        if cause is not None:  # the resolver refused the address the name had now
            return _done(FetchResult(0, error=f"blocked: {cause}", error_kind="blocked",
                                     final_url=current), start)
        return _done(FetchResult(0, error=f"{type(exc).__name__}: {exc}", error_kind="network",
                                 final_url=current), start)


def _peer(resp: aiohttp.ClientResponse) -> str | None:
    conn = resp.connection
    if conn is None or conn.transport is None:
        return None  # released already: the body was empty
    addr = conn.transport.get_extra_info("peername")
    return str(addr[0]) if addr else None


async def _hop(client: ClientPool, url: str, headers: dict[str, str], max_bytes: int,
               allow: list[IPNetwork]) -> tuple[FetchResult | None, str | None]:
    """One request: (result, None), or (None, the next URL) for a redirect."""
    async with client.request(url, headers) as resp:
        peer = _peer(resp)
        if peer is not None and not allowed_cached(peer, allow):
            raise Blocked(f"connected to {peer}, a non-public address")
        h = resp.headers
        if resp.status in (301, 302, 303, 307, 308) and h.get("location"):
            return None, urljoin(url, h["location"])
        result = FetchResult(
            status=resp.status,
            content_type=h.get("content-type"),
            etag=h.get("etag"),
            last_modified=h.get("last-modified"),
            retry_after=retry_after(h.get("retry-after")),
            cache_seconds=cache_lifetime(h.get("cache-control"), h.get("expires"),
                                         h.get("date")),
            final_url=url,
        )
        if resp.status != 200:
            if resp.status != 304:
                result.error = f"HTTP {resp.status} {resp.reason or ''}".rstrip()
                result.error_kind = "http"
            return result, None
        declared = h.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            return _too_large(result, max_bytes), None
        chunks: list[bytes] = []
        size = 0
        while chunk := await resp.content.readany():  # decoded: the cap bounds memory
            size += len(chunk)
            if size > max_bytes:
                return _too_large(result, max_bytes), None
            chunks.append(chunk)
        result.content = b"".join(chunks)
        return result, None


def _too_large(result: FetchResult, max_bytes: int) -> FetchResult:
    result.status = 0
    result.error = f"response larger than {max_bytes} bytes"
    result.error_kind = "too_large"
    return result


def _done(result: FetchResult, start: float) -> FetchResult:
    result.elapsed = time.monotonic() - start
    return result


@dataclass
class _Host:
    sem: asyncio.Semaphore
    next_at: float = 0.0
    users: int = 0


class HostGate:
    """Per-host politeness: at most ``max_conns`` requests at once and ``min_interval`` seconds
    between the starts of two requests to one host. Idle hosts are forgotten (bounded memory).
    """

    def __init__(self, max_conns: int, min_interval: float,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        self.max_conns = max(1, max_conns)
        self.min_interval = max(0.0, min_interval)
        self.clock = clock
        self.sleep = sleep
        self.hosts: dict[str, _Host] = {}

    @contextlib.asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[float]:
        """Hold a slot for ``host``; yields the seconds waited for the interval."""
        h = self.hosts.get(host)
        if h is None:
            h = self.hosts[host] = _Host(asyncio.Semaphore(self.max_conns), -1e18)
        h.users += 1
        try:
            async with h.sem:
                now = self.clock()
                start = max(now, h.next_at)
                h.next_at = start + self.min_interval
                waited = start - now
                if waited > 0:
                    await self.sleep(waited)
                yield waited
        finally:
            h.users -= 1
            if h.users == 0 and h.next_at <= self.clock():
                self.hosts.pop(host, None)


def host_of(url: str) -> str:
    """The politeness key of a URL: its host name, lower case.

    Split by hand (``urlsplit().hostname`` costs several times more): it only names the gate
    a request waits at; the address checks parse the URL fully.
    """
    netloc = url.partition("://")[2]
    for sep in "/?#":
        netloc = netloc.partition(sep)[0]
    host = netloc.rpartition("@")[2]
    if host.startswith("["):
        return host[1:].partition("]")[0].lower()
    return host.partition(":")[0].lower()

"""Transports that resend a request `cargo lambda watch` itself failed, and only those.

Now and then (seen about once in a few thousand requests here) the local Lambda emulator loses a response the
function produced: the function logs its status, the emulator answers 500 with its own
`{"type":"https://httpstatuses.com/500",...}` body as text/plain. That is the emulator, not the gateway: the
gateway never answers text/plain, and API Gateway + Lambda have no such path. So these transports resend
exactly that answer (at most twice) and count how often they did; conftest prints the count at the end, so a
rise is visible instead of hidden. Any other 500 is returned untouched and fails the test that got it.
"""

from __future__ import annotations

import httpx2

ATTEMPTS = 3
resent = 0


def is_lost(status: int, content_type: str, body: bytes) -> bool:
    """Whether an answer is the emulator's own 500 for a response it lost (any client's view of it)."""
    return status == 500 and content_type.startswith("text/plain") and b"httpstatuses.com/500" in body


def is_emulator_failure(response: httpx2.Response, body: bytes) -> bool:
    return is_lost(response.status_code, response.headers.get("content-type", ""), body)


def _might_be_emulator_failure(response: httpx2.Response) -> bool:
    return response.status_code == 500 and response.headers.get("content-type", "").startswith("text/plain")


class EmulatorRetry(httpx2.AsyncBaseTransport):
    def __init__(self) -> None:
        self.inner = httpx2.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        global resent
        for attempt in range(ATTEMPTS):
            response = await self.inner.handle_async_request(request)
            if not _might_be_emulator_failure(response) or attempt == ATTEMPTS - 1:
                return response
            body = await response.aread()
            if not is_emulator_failure(response, body):
                return response
            await response.aclose()
            resent += 1
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        await self.inner.aclose()


class SyncEmulatorRetry(httpx2.BaseTransport):
    def __init__(self) -> None:
        self.inner = httpx2.HTTPTransport()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        global resent
        for attempt in range(ATTEMPTS):
            response = self.inner.handle_request(request)
            if not _might_be_emulator_failure(response) or attempt == ATTEMPTS - 1:
                return response
            body = response.read()
            if not is_emulator_failure(response, body):
                return response
            response.close()
            resent += 1
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.inner.close()


def sdk_transport(url: str):
    """The official SDK's Streamable HTTP transport for `url`, over a client that resends emulator failures."""
    from mcp.client.streamable_http import streamable_http_client

    client = httpx2.AsyncClient(transport=EmulatorRetry(), timeout=httpx2.Timeout(30.0, read=300.0))
    return streamable_http_client(url, http_client=client)

"""The MCP SDK (and pydantic under it, ~30 MiB resident) is loaded by the service at the first
authorised ``/mcp`` request, not at start: a service whose operator never connects an
assistant does not carry it. Seen from outside, in the running service's memory map
(``/proc/PID/maps``: pydantic's compiled core is mapped once imported)."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from mcp_support import http_client, mcp_service, run

pytestmark = pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc")


def sdk_loaded(pid: int) -> bool:
    return "pydantic_core" in Path(f"/proc/{pid}/maps").read_text()


def test_sdk_loaded_by_the_first_authorised_mcp_request_only(tmp_path):
    with mcp_service(tmp_path, actions=False) as live:
        pid = live.pid
        for path in ("/", "/metrics", "/healthz"):
            httpx.get(live.url + path, timeout=60)
        refused = httpx.post(live.url + "/mcp", json={}, timeout=60,
                             headers={"Authorization": "Bearer not-the-token"})
        assert refused.status_code == 401
        assert not sdk_loaded(pid), "the MCP SDK was loaded before any authorised /mcp call"

        async def go():
            async with http_client(live) as client:
                return {t.name for t in (await client.list_tools()).tools}

        assert "status" in run(go)
        assert sdk_loaded(pid)
        assert os.kill(pid, 0) is None  # still serving

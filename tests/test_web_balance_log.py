"""The page's balance history (web/balances.BalanceLog): each channel's newest
SAMPLES_PER_CHANNEL samples in order, one per cycle time, the same as a bounded list of tuples
would keep; on disk, so it survives a restart of the service (seen through the page's API);
a file that is not a database is moved aside, kept, and a new one started."""

from __future__ import annotations

from collections import deque
from pathlib import Path
from types import SimpleNamespace as N

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st
from service_support import http_url, running_service

from mcp_optimizer.web import balances
from mcp_optimizer.web.balances import FILE_NAME, BalanceLog


def snap(at: int, chan: int, local: int, cap: int, fee: int) -> N:
    return N(taken_at_s=at, channel=N(chan_id=chan, local_balance_sat=local, capacity_sat=cap,
                                      our_policy=N(fee_rate_ppm=fee)))


cycles = st.lists(st.tuples(
    st.integers(0, 3),  # time step: 0 repeats the last cycle's time
    st.lists(st.tuples(st.sampled_from([1, 2, 3, 2**64 - 5]), st.integers(0, 10**12),
                       st.integers(0, 2**32 - 1)), max_size=4)), max_size=40)


@settings(max_examples=150, deadline=None)
@given(cycles, st.integers(1, 6))
def test_same_as_a_bounded_list_of_tuples(runs, keep):
    old = balances.SAMPLES_PER_CHANNEL
    balances.SAMPLES_PER_CHANNEL = keep
    try:
        log = BalanceLog()
        ref: dict[int, deque] = {}
        at = 1_790_000_000
        for step, chans in runs:
            at += step * 21600
            batch = [snap(at, c, local, 10**7, fee) for c, local, fee in chans]
            log.add(batch)
            for s in batch:
                q = ref.setdefault(s.channel.chan_id, deque(maxlen=keep))
                if not any(r[0] == at for r in q):
                    q.append((at, s.channel.local_balance_sat, s.channel.capacity_sat,
                              s.channel.our_policy.fee_rate_ppm))
        for c in (1, 2, 3, 2**64 - 5, 4):
            assert log.of(c) == list(ref.get(c, ()))
        rows = log._db.execute("SELECT count(*) FROM samples GROUP BY chan_id").fetchall()
        assert all(n <= keep for (n,) in rows)  # no more than that on disk either
        log.close()
    finally:
        balances.SAMPLES_PER_CHANNEL = old


def test_a_file_that_is_not_a_database_is_moved_aside_and_kept(tmp_path):
    path = tmp_path / FILE_NAME
    path.write_bytes(b"not a database, but somebody's bytes" * 100)
    log = BalanceLog(path)
    log.add([snap(100, 1, 5, 10, 7)])
    assert log.of(1) == [(100, 5, 10, 7)]
    log.close()
    (aside,) = tmp_path.glob(FILE_NAME + ".unreadable-*")
    assert aside.read_bytes().startswith(b"not a database")


def _balance(url: str, scid: str) -> list[dict]:
    return httpx.get(f"{url}/api/v1/channels/{scid}", timeout=60).json()["balance"]


def test_the_page_keeps_the_balance_history_across_a_restart(tmp_path):
    def first_channel(url: str) -> str:
        import time

        end = time.monotonic() + 120
        while True:
            got = httpx.get(f"{url}/api/v1/channels", timeout=60).json()
            if got["total"] > 0:
                return got["channels"][0]["scid"]
            assert time.monotonic() < end, "no channel on the page within 120 s"
            time.sleep(0.25)

    with running_service(tmp_path) as (env, _proc):
        url = http_url(env)
        scid = first_channel(url)
        before = _balance(url, scid)
        assert before, "no balance sample after the first cycle"
    assert (Path(env["MCP_DATA_DIR"]) / FILE_NAME).exists()
    with running_service(tmp_path) as (env, _proc):
        url = http_url(env)
        first_channel(url)
        after = _balance(url, scid)
        assert after[:len(before)] == before  # the first service's samples, still there

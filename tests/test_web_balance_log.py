"""The page's balance log (web/history.BalanceLog): each channel's last SAMPLES_PER_CHANNEL
samples in order, one per cycle time, the same as a plain bounded list of tuples would keep."""

from __future__ import annotations

from collections import deque
from types import SimpleNamespace as N

from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_optimizer.web import history
from mcp_optimizer.web.history import BalanceLog


def snap(at: int, chan: int, local: int, cap: int, fee: int) -> N:
    return N(taken_at_s=at, channel=N(chan_id=chan, local_balance_sat=local, capacity_sat=cap,
                                      our_policy=N(fee_rate_ppm=fee)))


cycles = st.lists(st.tuples(
    st.integers(0, 3),  # time step: 0 repeats the last cycle's time
    st.lists(st.tuples(st.integers(1, 3), st.integers(0, 10**9), st.integers(0, 2**31)),
             max_size=4)), max_size=40)


@settings(max_examples=200, deadline=None)
@given(cycles, st.integers(1, 6))
def test_same_as_a_bounded_list_of_tuples(runs, keep):
    old = history.SAMPLES_PER_CHANNEL
    history.SAMPLES_PER_CHANNEL = keep
    try:
        log = BalanceLog()
        ref: dict[int, deque] = {}
        at = 1_790_000_000
        for step, chans in runs:
            at += step * 21600
            batch = [snap(at, c, local, 10**7 + c, fee) for c, local, fee in chans]
            log.add(batch)
            for s in batch:
                q = ref.setdefault(s.channel.chan_id, deque(maxlen=keep))
                row = (at, s.channel.local_balance_sat, s.channel.capacity_sat,
                       s.channel.our_policy.fee_rate_ppm)
                if not q or q[-1][0] != at:
                    q.append(row)
        for c in (1, 2, 3, 4):
            assert log.of(c) == list(ref.get(c, ()))
    finally:
        history.SAMPLES_PER_CHANNEL = old

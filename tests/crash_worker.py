"""A process that writes policies in a loop through the actuator, to be killed by the test.

Usage: python tests/crash_worker.py DATA_DIR SEED   (node from the MCP_LND_* variables)

It opens the journal, waits for the writer lock, reconciles, acknowledges what reconciliation
recorded (as an operator would), goes live, prints ``reconciled N`` and waits for a line on
stdin: ``go`` starts the write loop (random fee moves, one in five a rollback of the last
change) until the process is killed; ``stop`` exits.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from journal_support import decision  # noqa: E402

from mcp_optimizer.journal import Journal, RollbackRefused  # noqa: E402
from mcp_optimizer.messages import Mode  # noqa: E402
from mcp_optimizer.policies.config import load_policy  # noqa: E402
from mcp_optimizer.providers.lnd.client import LndClient  # noqa: E402
from mcp_optimizer.providers.lnd.settings import LndSettings  # noqa: E402
from mcp_optimizer.safety.actuator import Actuator  # noqa: E402

SAFETY_ENV = {"MCP_MAX_CHANGES_PER_HOUR": "1000000", "MCP_MAX_CHANGES_PER_DAY": "1000000"}


def main(data_dir: str, seed: int) -> int:
    policy = load_policy(environ={"MCP_POLICY__COOLDOWN_S": "0"})
    client = LndClient(LndSettings.from_env())
    journal = Journal.open(data_dir)
    act = Actuator(journal, client, policy, data_dir, environ=SAFETY_ENV, lock_wait_s=60)
    resolved = act.reconcile()
    act.ack_crashes()
    if act.mode() is not Mode.LIVE:
        act.set_mode(Mode.LIVE, by="crash-test")
    chans = client.list_channels()
    act.observe(chans)
    print(f"reconciled {len(resolved)}", flush=True)
    if sys.stdin.readline().strip() != "go":
        return 0
    rng = random.Random(seed)
    while True:
        if rng.random() < 0.2:
            try:
                act.rollback_last()
            except RollbackRefused:
                pass
            continue
        ch = rng.choice(chans)
        current = client.get_policy(ch.chan_id)
        step = rng.choice([-1, 1]) * rng.randint(5, 200)
        rate = min(2500, max(1, current.fee_rate_ppm + step))
        ch_now = type(ch)(**{**{f: getattr(ch, f) for f in ch.__struct_fields__},
                             "our_policy": current})
        act.apply_decision(decision(ch_now, rate), ch.channel_point)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2])))

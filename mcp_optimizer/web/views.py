"""The control room's HTML, rendered by the server from the API's views (``api.py``): plain
HTML and CSS that work without script; ``static/app.js`` (vanilla, no library) sends the acts
(POST with the CSRF token) and shows their answers and errors in place."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from html import escape as e
from urllib.parse import urlencode

from mcp_optimizer.messages.control import (
    CrashSeen,
    CycleDone,
    NextCycleAt,
    NoCycleDue,
    SafeModeOn,
)
from mcp_optimizer.messages.decision import DisabledFactor, ScoredFactor, UnknownFactor
from mcp_optimizer.messages.domain import ChannelPolicy, ForwardingStats
from mcp_optimizer.messages.journal import (
    ChangeOrigin,
    ChangeState,
    CycleEnded,
    FromDecision,
    Mode,
)
from mcp_optimizer.scid import scid_text

from . import models as m
from .svg import Series, panel

NAV = (("/", "Overview"), ("/channels", "Channels"), ("/journal", "Journal"),
       ("/cycles", "Cycles"), ("/shadow", "Shadow report"), ("/policy", "Policy"))
REVERTIBLE = (ChangeState.VERIFIED, ChangeState.MISMATCHED, ChangeState.EXTERNAL)


def ts(t: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(t)) if t else "never"


def ago(seconds: int) -> str:
    s = max(0, seconds)
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{s // 60} min"
    if s < 2 * 86400:
        return f"{s // 3600} h"
    return f"{s // 86400} days"


def sat(msat: int) -> str:
    return f"{msat / 1000:,.0f}" if abs(msat) >= 1000 or msat == 0 else f"{msat / 1000:.3f}"


def pol(p: object) -> str:
    if isinstance(p, ChannelPolicy):
        inbound = ""
        if p.inbound_fee_rate_ppm or p.inbound_base_fee_msat:
            inbound = f", in {p.inbound_fee_rate_ppm} ppm/{p.inbound_base_fee_msat} msat"
        return f"{p.fee_rate_ppm} ppm + {p.base_fee_msat} msat{inbound}"
    return "unknown"


def page(title: str, body: str, *, active: str, csrf: str, status: m.Overview | None = None) -> str:
    nav = "".join(
        f'<a href="{href}"{" class=on" if href == active else ""}>{name}</a>'
        for href, name in NAV
    )
    badge = ""
    if status is not None:
        paused = ' <span class="b warn">paused</span>' if status.pause.paused else ""
        safe = (' <span class="b bad">safe mode</span>'
                if isinstance(status.safe_mode, SafeModeOn) else "")
        crash = (f' <span class="b bad">{len(status.open_crashes)} open crash(es)</span>'
                 if status.open_crashes else "")
        badge = (f'<span class="b mode-{status.mode.value}" id="mode-badge">'
                 f'{status.mode.value}</span>{paused}{safe}{crash}')
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="{e(csrf)}">
<title>{e(title)} · MCP Lightning Optimizer</title>
<link rel="stylesheet" href="/static/app.css">
<link rel="icon" href="data:,">
</head><body>
<header><strong>MCP Lightning Optimizer</strong> {badge}<nav>{nav}</nav></header>
<main>
<div id="flash" role="status" aria-live="polite"></div>
{body}
</main>
<script src="/static/app.js" defer></script>
</body></html>"""


# ------------------------------------------------------------------------------- overview
def overview(o: m.Overview, days: list[tuple[int, int, int]]) -> str:
    """``days``: (day start, forwards, fees msat) over 30 days, from the forwarding summary."""
    pause = o.pause
    pause_text = (
        f'<b class="warn">paused</b> by {e(", ".join(pause.sources))}'
        + (f' — {e(pause.reason)}' if pause.reason else "")
        if pause.paused else "running (not paused)"
    )
    if isinstance(o.last_cycle, CycleDone):
        c = o.last_cycle
        last = (f'#{c.cycle_id} {e(c.trigger)}, <span class="o-{c.outcome.value}">'
                f'{c.outcome.value}</span>, {ts(c.finished_at_s)} — {e(c.detail)}')
    else:
        last = "none since the service started"
    nxt = o.next_cycle
    next_text = (f"{ts(nxt.at_s)} ({e(nxt.trigger)})" if isinstance(nxt, NextCycleAt)
                 else f"none: {e(nxt.reason)}" if isinstance(nxt, NoCycleDue) else "")
    safe = (f'<b class="bad">on</b>: {e("; ".join(o.safe_mode.reasons))}'
            if isinstance(o.safe_mode, SafeModeOn) else "off")
    crashes = "".join(
        f"<li>#{c.crash_id} {c.kind.value} in {e(c.source)} at {ts(c.at_s)}: {e(c.detail)}</li>"
        for c in o.open_crashes
    ) or "<li>none</li>"
    actors = "".join(
        f'<tr><td>{e(a.name)}</td><td class="st-{e(a.state)}">{e(a.state)}</td>'
        f"<td>{a.restarts}</td><td>"
        f"{e(a.last_crash.cause) if isinstance(a.last_crash, CrashSeen) else ''}</td></tr>"
        for a in o.actors
    )
    revenue = "".join(
        f"<tr><td>{r.window}</td><td>{r.forwards:,}</td><td>{sat(r.fees_msat)}</td>"
        f"<td>{sat(r.amount_out_msat)}</td></tr>" for r in o.revenue
    ) or '<tr><td colspan="4">unknown</td></tr>'
    t1 = o.now_s
    t0 = t1 - 30 * 86400
    updates = panel(Series("bars", [(d.day_s, d.count) for d in o.fee_updates_per_day],
                           "fee updates per day", "s2"), t0, t1)
    fees = panel(Series("bars", [(d, f / 1000) for d, _, f in days], "fees earned per day (sat)",
                        "s3"), t0, t1)
    fwd = panel(Series("bars", [(d, n) for d, n, _ in days], "forwards per day", "s1"), t0, t1)
    modes = "".join(
        f'<button data-act="mode" data-mode="{md.value}"'
        f'{" disabled" if md is o.mode else ""}>{md.value}</button>' for md in Mode
    )
    pause_btn = (
        '<button data-act="resume">Resume</button>' if o.pause.paused else
        '<input id="pause-reason" placeholder="reason (shown in status)" maxlength="500">'
        '<button data-act="pause">Pause</button>'
    )
    return f"""
<h1>Overview</h1>
<p class="node">{e(o.node)} · {o.channels} channels · now {ts(o.now_s)} UTC</p>
<section class="cards">
<div class="card"><h2>Mode</h2><p id="mode"><b>{o.mode.value}</b> for
 {ago(o.now_s - o.mode_since_s) if o.mode_since_s else "ever (never changed)"}</p>
<div class="acts">{modes}</div>
<div id="live-confirm" hidden><p>Going <b>live</b> writes fees to the node. What the next cycle
 would do with the current policy:</p><div id="next-cycle"></div>
 <button data-act="mode-live-confirm" class="danger">Yes, go live</button>
 <button data-act="cancel">Cancel</button></div></div>
<div class="card"><h2>Pause</h2><p id="pause-state">{pause_text}</p>
<div class="acts">{pause_btn}</div></div>
<div class="card"><h2>Cycles</h2><p>last: {last}</p><p>next: {next_text}</p>
<p>{"a cycle is running" if o.cycle_running else ""}</p>
<div class="acts"><button data-act="evaluate-now">Evaluate now</button></div></div>
<div class="card"><h2>Safety</h2><p>safe mode: {safe}</p><p>open crashes (circuit breaker
 {"open" if o.open_crashes else "closed"}):</p><ul id="crashes">{crashes}</ul>
<div class="acts"><button data-act="ack-crash"{"" if o.open_crashes or
 isinstance(o.safe_mode, SafeModeOn) else " disabled"}>Acknowledge crashes</button></div></div>
</section>
<h2>Routing revenue</h2>
<table class="t"><thead><tr><th>window</th><th>forwards</th><th>fees (sat)</th>
<th>amount out (sat)</th></tr></thead><tbody>{revenue}</tbody></table>
<p class="note">{e(o.revenue_note)}</p>
<div class="plots">{fwd}{fees}{updates}</div>
<h2>Actors</h2>
<table class="t"><thead><tr><th>actor</th><th>state</th><th>restarts</th><th>last crash</th>
</tr></thead><tbody>{actors}</tbody></table>
"""


# ---------------------------------------------------------------------- connect an assistant
@dataclass(frozen=True)
class McpInfo:
    """What the page shows of the MCP server without its token."""

    url: str
    actions: bool
    token_source: str


TOKEN_HIDDEN = "•" * 24
CONFIG_HIDDEN = "<press Show to fill in the token>"


def connect(info: McpInfo | None) -> str:
    """The overview's "Connect an assistant": ``/mcp``'s URL, its token (hidden: the page
    does not hold it; ``static/app.js`` fetches it from ``/api/v1/mcp-connection`` on Show or
    Copy), whether acting tools are offered, and an ``mcpServers`` entry to paste."""
    if info is None:
        return ('<h2 id="connect">Connect an assistant</h2><p class="note">This service has no '
                "MCP tool server (no data directory).</p>")
    acts = ("offered (<code>MCP_MCP_ACTIONS=true</code>): pause, resume, rollback, evaluate now"
            if info.actions else
            "not offered: read tools only (set <code>MCP_MCP_ACTIONS=true</code> for pause, "
            "resume, rollback, evaluate now)")
    snippet = json.dumps({"mcpServers": {"lightning-fees": {
        "type": "http", "url": info.url,
        "headers": {"Authorization": f"Bearer {CONFIG_HIDDEN}"}}}}, indent=2)
    return f"""
<h2 id="connect">Connect an assistant</h2>
<section class="card connect" id="mcp-connect">
<p>An assistant (an MCP client) reaches this service's tools over streamable HTTP at the URL
 below, with the bearer token below. No tool changes the mode. Details: <code>docs/mcp.md</code>.
</p>
<dl>
<dt>URL</dt><dd><code id="mcp-url">{e(info.url)}</code>
 <button data-act="mcp-copy-url">Copy URL</button></dd>
<dt>Token</dt><dd><code id="mcp-token" data-hidden="1">{TOKEN_HIDDEN}</code>
 <button data-act="mcp-show" id="mcp-show">Show</button>
 <button data-act="mcp-copy-token">Copy token</button>
 <small class="note">from {e(info.token_source)}</small></dd>
<dt>Acting tools</dt><dd id="mcp-actions">{acts}</dd>
</dl>
<p>For the assistant's MCP configuration:</p>
<pre id="mcp-config" data-hidden="{e(snippet)}">{e(snippet)}</pre>
<div class="acts"><button data-act="mcp-copy-config">Copy configuration</button></div>
<p class="note">The token is a key to this service's tools: treat it as a password. Over plain
 HTTP it travels unencrypted; behind a TLS proxy, use its <code>https://</code> address.</p>
</section>
"""


# ------------------------------------------------------------------------------- channels
def _failures(f: ForwardingStats) -> str:
    """``ForwardingStats``' failed HTLCs by kind, in words."""
    if not f.failed_htlcs:
        return "none"
    other = f.failed_htlcs - f.failed_balance - f.failed_fee - f.failed_downstream
    parts = [(f.failed_balance, "for want of our balance"),
             (f.failed_fee, "offering less than our fee"),
             (f.failed_downstream, "further along the route"), (other, "other")]
    return f"{f.failed_htlcs:,} (" + ", ".join(f"{n:,} {what}" for n, what in parts if n) + ")"


def _bar(r: m.ChannelRow) -> str:
    pct = 100 * r.local_balance_sat / r.capacity_sat if r.capacity_sat else 0
    return (f'<div class="bal" title="{pct:.0f}% outbound"><span style="width:{pct:.1f}%">'
            f'</span></div><small>{pct:.0f}%</small>')


def _kind(d: object) -> str:
    kind = getattr(d, "kind", None)
    if kind is None:
        return "—"
    return f'<span class="k-{kind.value}">{kind.value.replace("_", " ").lower()}</span>'


def channels(lst: m.ChannelList, q: str, kind: str, sort: str, desc: bool) -> str:
    def head(key: str, label: str) -> str:
        flip = desc if key != sort else not desc
        args = urlencode({"q": q, "kind": kind, "sort": key, "desc": "1" if flip else ""})
        mark = (" ▾" if desc else " ▴") if key == sort else ""
        return f'<th><a href="/channels?{args}">{label}{mark}</a></th>'

    rows = []
    for r in lst.channels:
        d = r.decision
        reasons = "<br>".join(e(x) for x in d.reasons[:3]) if d else ""
        peer_fee = pol(r.peer_policy)
        ov = f'<span class="b ov" title="{e(r.override)}">override</span>' if r.override else ""
        rows.append(
            f'<tr><td><a href="/channels/{r.scid}">{r.scid}</a>{ov}</td>'
            f"<td>{e(r.peer_alias or r.peer_pubkey[:12])}{'' if r.active else ' (offline)'}</td>"
            f"<td>{r.capacity_sat:,}</td><td>{_bar(r)}</td>"
            f"<td>{r.our_policy.fee_rate_ppm} ppm<br><small>in "
            f"{r.our_policy.inbound_fee_rate_ppm} ppm</small></td>"
            f"<td><small>{peer_fee}</small></td>"
            f"<td>{r.recent.forwards_out:,} / {r.history.forwards_out:,}</td>"
            f"<td>{sat(r.recent.fees_earned_msat)} / {sat(r.history.fees_earned_msat)}</td>"
            f'<td>{_kind(d)}<div class="why">{reasons}</div></td></tr>'
        )
    kinds = "".join(
        f'<option value="{k}"{" selected" if k == kind else ""}>{k}</option>'
        for k in ("", "NO_ACTION", "INCREASE_FEES", "LOWER_FEES", "CLOSE_CHANNEL")
    )
    taken = f"snapshots of {ts(lst.taken_at_s)} UTC" if lst.taken_at_s else "no cycle yet"
    return f"""
<h1>Channels</h1>
<form class="filter" method="get" action="/channels">
<input name="q" value="{e(q)}" placeholder="filter: channel id, alias, pubkey">
<select name="kind" aria-label="decision">{kinds}</select>
<input type="hidden" name="sort" value="{e(sort)}"><button>Filter</button></form>
<p class="note">{lst.total} channel(s), {taken}; forwards and fees: recent window / history
 window.</p>
<div class="scroll"><table class="t" id="channels"><thead><tr>{head("scid", "channel")}
{head("alias", "peer")}{head("capacity", "capacity (sat)")}{head("outbound", "balance")}
{head("fee", "our fee")}<th>peer's fee</th>{head("forwards", "forwards out")}
{head("fees", "fees (sat)")}{head("decision", "latest decision")}</tr></thead>
<tbody>{"".join(rows)}</tbody></table></div>
"""


def _factors(d: object) -> str:
    rows = []
    for f in getattr(d, "factors", []):
        if isinstance(f, ScoredFactor):
            rows.append(f"<tr><td>{e(f.name)}</td><td>{f.value:.2f}</td><td>{f.weight:g}</td>"
                        f"<td>{f.contribution:.2f}</td><td>{e(f.detail)}</td></tr>")
        elif isinstance(f, UnknownFactor):
            rows.append(f"<tr><td>{e(f.name)}</td><td>unknown</td><td>{f.weight:g}</td>"
                        f"<td>—</td><td>{e(f.detail)}</td></tr>")
        elif isinstance(f, DisabledFactor):
            rows.append(f"<tr><td>{e(f.name)}</td><td>off</td><td>—</td><td>—</td>"
                        f"<td>{e(f.detail)}</td></tr>")
    return ('<table class="t"><thead><tr><th>factor</th><th>value</th><th>weight</th>'
            "<th>contribution</th><th>how</th></tr></thead><tbody>" + "".join(rows)
            + "</tbody></table>")


def change_rows(changes: list, *, with_channel: bool) -> str:
    out = []
    for c in changes:
        stops = "; ".join(f"{s.gate.value} ({s.effect.value}): {s.reason}" for s in c.stopped_by)
        why = "<br>".join(e(r) for r in c.reasons)
        if stops:
            why += f'<div class="stop">{e(stops)}</div>'
        link = (f'<td><a href="/channels/{scid_text(c.chan_id)}">{scid_text(c.chan_id)}</a></td>'
                if with_channel else "")
        origin = c.origin.value + (f" of #{', #'.join(map(str, c.rolls_back))}"
                                   if c.origin is ChangeOrigin.ROLLBACK and c.rolls_back else "")
        dec = (f" (decision {c.decision.decision_id})"
               if isinstance(c.decision, FromDecision) else "")
        btn = (f'<button data-act="rollback" data-change="{c.change_id}">Roll back</button>'
               if c.state in REVERTIBLE else "")
        out.append(
            f'<tr id="change-{c.change_id}"><td>#{c.change_id}</td>{link}'
            f"<td>{ts(c.requested_at_s)}</td>"
            f"<td>{e(origin)}{dec}</td><td>{c.mode.value}</td>"
            f'<td class="st-{c.state.value}">{c.state.value}</td>'
            f"<td><small>{e(pol(c.old_policy))} → {e(pol(c.new_policy))}</small></td>"
            f'<td class="why">{why}</td><td>{btn}</td></tr>'
        )
    return "".join(out)


CHANGE_HEAD = ("<th>id</th>{ch}<th>at (UTC)</th><th>origin</th><th>mode</th><th>state</th>"
               "<th>policy</th><th>why / what held it</th><th></th>")


def channel(d: m.ChannelDetail, now_s: int) -> str:
    r = d.channel
    t1 = now_s
    t0 = t1 - 30 * 86400
    # fee history: the policy before the oldest change, then each change written
    fee_pts: list[tuple[float, float]] = []
    chron = list(reversed(d.changes))
    effective = [c for c in chron if c.state in REVERTIBLE or c.state is ChangeState.APPLIED]
    if d.fee_levels:  # the snapshot's price history: every level held over the window
        fee_pts = [(lvl.start_s, lvl.fee_rate_ppm) for lvl in d.fee_levels]
        fee_pts.append((d.fee_levels[-1].end_s, r.our_policy.fee_rate_ppm))
    elif effective:
        fee_pts.append((min(t0, effective[0].requested_at_s), effective[0].old_policy.fee_rate_ppm))
        fee_pts += [(c.updated_at_s, c.new_policy.fee_rate_ppm) for c in effective]
    else:
        fee_pts.append((t0, r.our_policy.fee_rate_ppm))
    plots = [
        panel(Series("step", fee_pts, "our fee rate (ppm)", "s1"), t0, t1),
        panel(Series("bars", [(x.day_s, x.forwards_out) for x in d.forwards_by_day],
                     "forwards out per day", "s2"), t0, t1),
        panel(Series("bars", [(x.day_s, x.fees_msat / 1000) for x in d.forwards_by_day],
                     "fees earned per day (sat)", "s3"), t0, t1),
        panel(Series("line", [(b.at_s, 100 * b.local_balance_sat / b.capacity_sat)
                              for b in d.balance if b.capacity_sat],
                     "outbound balance (% of capacity, at each cycle)", "s4"), t0, t1,
              y_min=0, y_max=100),
    ]
    latest = r.decision
    decisions = "".join(
        f"<tr><td>#{x.decision_id}</td><td>{ts(x.decision.evaluated_at_s)}</td>"
        f"<td>{x.mode.value}</td><td>{_kind(x.decision)}"
        f'{" <small>(override)</small>" if x.decision.override else ""}</td>'
        f"<td>{x.decision.score:.2f}</td>"
        f'<td class="why">{"<br>".join(e(s) for s in x.decision.reasons)}</td></tr>'
        for x in d.decisions
    )
    ov = r.override or "none"
    return f"""
<h1>Channel {r.scid}</h1>
<p class="node">peer {e(r.peer_alias)} <small>{e(r.peer_pubkey)}</small> ·
 {r.capacity_sat:,} sat · {"active" if r.active else "offline"}</p>
<section class="cards">
<div class="card"><h2>Balance</h2>{_bar(r)}<p>{r.local_balance_sat:,} sat ours,
 {r.remote_balance_sat:,} sat theirs</p></div>
<div class="card"><h2>Fees</h2><p>ours: {e(pol(r.our_policy))}</p>
<p>peer's: {e(pol(r.peer_policy))}</p></div>
<div class="card"><h2>Forwards</h2><p>recent {r.recent.forwards_out:,} out,
 {sat(r.recent.fees_earned_msat)} sat; history {r.history.forwards_out:,} out,
 {sat(r.history.fees_earned_msat)} sat</p>
<p id="failures">failed HTLCs, recent window: {_failures(r.recent)}</p></div>
<div class="card" id="override-card"><h2>Override</h2><p id="override-now">{e(ov)}</p>
<form id="override-form" data-scid="{r.scid}">
<label><input type="radio" name="ov" value="none" checked> none</label>
<label><input type="radio" name="ov" value="exclude"> exclude from automation</label>
<label><input type="radio" name="ov" value="pin"> pin fee rate (ppm)
 <input name="pin" inputmode="numeric" size="6"></label>
<label><input type="radio" name="ov" value="bounds"> own bounds (ppm) min
 <input name="min" inputmode="numeric" size="6"> max <input name="max" inputmode="numeric" size="6">
</label><input name="note" placeholder="note" maxlength="200">
<button type="submit">Save override</button><span class="err" data-for="channels.{r.scid}"></span>
</form></div>
<div class="card" id="close-card"><h2>Close</h2><p>Cooperatively, never forced, at the
 node's fee estimate. A close cannot be undone.</p>
<label>type <code>{r.scid}</code> to confirm <input id="close-confirm" autocomplete="off"
 size="18"></label><input id="close-reason" placeholder="reason" maxlength="200">
<button data-act="close" data-chan="{r.chan_id}" data-scid="{r.scid}" class="danger">
Close this channel</button></div>
</section>
<h2>Over time</h2><div class="plots stack">{"".join(plots)}</div>
<h2>Latest decision: {_kind(latest)}</h2>
{'<p class="why">' + "<br>".join(e(s) for s in latest.reasons) + "</p>" if latest else ""}
{_factors(latest) if latest else ""}
<h2>Changes</h2>
<div class="scroll"><table class="t"><thead><tr>{CHANGE_HEAD.format(ch="")}</tr></thead>
<tbody>{change_rows(d.changes, with_channel=False)}</tbody></table></div>
<h2>Decisions</h2>
<div class="scroll"><table class="t"><thead><tr><th>id</th><th>at</th><th>mode</th>
<th>decision</th><th>score</th><th>reasons</th></tr></thead><tbody>{decisions}</tbody></table></div>
"""


# -------------------------------------------------------------------------------- journal
def journal(pg: m.ChangePage, f: dict[str, str]) -> str:
    def sel(name: str, options: list[str]) -> str:
        opts = "".join(f'<option{" selected" if o == f.get(name, "") else ""}>{o}</option>'
                       for o in ["", *options])
        return f'<select name="{name}" aria-label="{name}">{opts}</select>'

    nxt = ""
    if pg.offset + pg.limit < pg.total:
        nxt = (f'<a href="/journal?{urlencode({**f, "offset": pg.offset + pg.limit})}">'
               "older →</a>")
    prev = ""
    if pg.offset > 0:
        prev = (f'<a href="/journal?{urlencode({**f, "offset": max(0, pg.offset - pg.limit)})}">'
                "← newer</a>")
    return f"""
<h1>Journal</h1>
<form class="filter" method="get" action="/journal">
<input name="channel" value="{e(f.get("channel", ""))}" placeholder="channel id">
{sel("origin", [o.value for o in ChangeOrigin])}{sel("state", [s.value for s in ChangeState])}
<input name="since" value="{e(f.get("since", ""))}" placeholder="since (YYYY-MM-DD or 6h)">
<button>Filter</button></form>
<div class="acts"><button data-act="rollback-last">Roll back the last change</button>
<input id="rollback-since" placeholder="YYYY-MM-DD HH:MM or 6h">
<button data-act="rollback-since">Roll back since</button></div>
<p class="note">{pg.total:,} change(s); {pg.offset + 1 if pg.total else 0}–
{min(pg.offset + pg.limit, pg.total)} shown. {prev} {nxt}</p>
<div class="scroll"><table class="t" id="changes"><thead><tr>
{CHANGE_HEAD.format(ch="<th>channel</th>")}
</tr></thead><tbody>{change_rows(pg.changes, with_channel=True)}</tbody></table></div>
"""


def cycles(pg: m.CyclePage) -> str:
    rows = []
    stages = {s.cycle_id: s.stages for s in pg.stages}
    for c in pg.cycles:
        if isinstance(c.end, CycleEnded):
            end = (f'<span class="o-{c.end.outcome.value}">{c.end.outcome.value}</span>',
                   f"{c.end.at_s - c.started_at_s} s")
        else:
            end = ("not ended", "")
        rows.append(f"<tr><td>#{c.cycle_id}</td><td>{ts(c.started_at_s)}</td><td>{e(c.trigger)}"
                    f"</td><td>{c.mode.value}</td><td>{end[0]}</td><td>{end[1]}</td>"
                    f'<td class="why">'
                    + ", ".join(f"{e(s.stage)} {s.seconds:.2f} s"
                                for s in stages.get(c.cycle_id, []))
                    + f'</td><td class="why">{e(c.detail)}</td></tr>')
    return f"""
<h1>Cycles</h1>
<p class="note">Stage durations are kept for the cycles run since the service started (and in
 /metrics: mcp_cycle_stage_duration_seconds).</p>
<div class="scroll"><table class="t" id="cycles"><thead><tr><th>id</th><th>started (UTC)</th>
<th>trigger</th><th>mode</th><th>outcome</th><th>took</th><th>stages</th><th>notes</th></tr>
</thead>
<tbody>{"".join(rows)}</tbody></table></div>
"""


def policy(v: m.PolicyView) -> str:
    rows = []
    for x in v.values:
        locked = x.source == "environment"
        field = (f'<input name="{e(x.key)}" value="{e(x.value)}" data-orig="{e(x.value)}"'
                 f'{" disabled" if locked else ""} aria-label="{e(x.key)}">')
        unset = (f'<button type="button" data-unset="{e(x.key)}">unset</button>'
                 if x.source == "page" else "")
        src = e(x.source) + (f" ({e(x.env_var)})" if x.env_var else "")
        rows.append(f'<tr><td><code>{e(x.key)}</code></td><td>{field}'
                    f'<div class="err" data-for="{e(x.key)}"></div></td>'
                    f'<td class="src-{e(x.source)}">{src}</td><td>{unset}</td></tr>')
    changes = "".join(
        f'<tr id="policy-change-{c.policy_change_id}"><td>#{c.policy_change_id}</td>'
        f"<td>{ts(c.at_s)}</td><td>{e(c.by)}</td><td>{e(c.reason)}</td><td><small>"
        + "<br>".join(f"{e(k.key)}: {e(k.old or '(unset)')} → {e(k.new or '(unset)')}"
                      for k in c.keys)
        + f'</small></td><td><button data-act="policy-undo" data-id="{c.policy_change_id}">'
          "Undo</button></td></tr>"
        for c in v.changes
    )
    return f"""
<h1>Policy</h1>
<p class="note">The effective policy: each value with its source (default, file
 {e(v.file or "(none)")}, page, environment). Values typed here are read as YAML
 (<code>true</code>, <code>3</code>, <code>0.25</code>) and checked as the loader checks a file;
 the environment wins over the page. A save applies from the next cycle.</p>
<form id="policy-form">
<div class="acts"><input id="policy-reason" placeholder="reason (journaled)" maxlength="500">
<button type="button" data-act="policy-preview">Preview</button>
<button type="submit">Save</button></div>
<div class="err" data-for=""></div>
<div id="preview"></div>
<div class="scroll"><table class="t" id="policy"><thead><tr><th>key</th><th>value</th>
<th>source</th><th></th></tr></thead><tbody>{"".join(rows)}</tbody></table></div>
</form>
<h2>Policy changes</h2>
<div class="scroll"><table class="t" id="policy-changes"><thead><tr><th>id</th><th>at</th>
<th>by</th><th>reason</th><th>keys</th><th></th></tr></thead><tbody>{changes}</tbody></table></div>
"""


def shadow(r: object, days: int) -> str:
    """The shadow report (``ShadowReport``): per channel what the service would have done next
    to what changed on the node, and the effect of its fees on the same forwards."""
    rows = []
    for c in getattr(r, "channels", []):
        gap = getattr(c.fee_rate_gap, "gap_ppm", None)
        rows.append(
            f'<tr><td><a href="/channels/{scid_text(c.chan_id)}">{scid_text(c.chan_id)}</a></td>'
            f"<td>{c.would_change_count}</td><td>{c.stopped_count}</td>"
            f"<td><small>{e(pol(c.first_would_policy))}</small></td>"
            f"<td><small>{e(pol(c.last_would_policy))}</small></td>"
            f"<td>{c.external_change_count}</td><td><small>{e(pol(c.actual_policy))}</small></td>"
            f"<td>{'' if gap is None else f'{gap:+d} ppm'}</td></tr>"
        )
    eff = getattr(r, "effect", None)
    if eff is not None and hasattr(eff, "difference_msat"):
        effect = (f"On the same {eff.forward_count:,} forwards its fees would have earned "
                  f"{sat(eff.would_be_fee_msat)} sat against {sat(eff.actual_fee_msat)} sat "
                  f"({sat(eff.difference_msat)} sat difference; {e(eff.basis)}; "
                  f"{e(eff.source)}).")
    else:
        effect = f"Effect not estimated: {e(getattr(eff, 'reason', 'unknown'))}."
    periods = "".join(
        f'<a href="/shadow?days={d}"{" class=on" if d == days else ""}>{d} days</a> '
        for d in (1, 7, 30))
    return f"""
<h1>Shadow report</h1>
<p class="note">{periods} · {ts(getattr(r, "since_s", 0))} to {ts(getattr(r, "until_s", 0))}
 UTC</p>
<p>{effect}</p>
<div class="scroll"><table class="t" id="shadow"><thead><tr><th>channel</th>
<th>would change</th><th>held / refused</th><th>first would-be</th><th>last would-be</th>
<th>external changes</th><th>on the node</th><th>gap</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table></div>
"""


def signin(error: str = "") -> str:
    err = f'<p class="err">{e(error)}</p>' if error else ""
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · MCP Lightning Optimizer</title><link rel="stylesheet" href="/static/app.css">
<link rel="icon" href="data:,"></head>
<body><main><h1>MCP Lightning Optimizer</h1>{err}
<form method="post" action="/signin"><label>Access token (MCP_WEB_TOKEN)
<input type="password" name="token" autocomplete="current-password"></label>
<button>Sign in</button></form></main></body></html>"""

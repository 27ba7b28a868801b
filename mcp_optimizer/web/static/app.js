// The control room's acts: each button POSTs JSON to /api/v1/ with the CSRF token, then shows
// the journaled answer (or the one-line error, beside the field at fault). No library.
"use strict";
(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const flash = document.getElementById("flash");

  function say(text, good) {
    flash.textContent = text;
    flash.className = good ? "ok" : "bad";
  }
  const kept = sessionStorage.getItem("mcp-flash");
  if (kept) { sessionStorage.removeItem("mcp-flash"); say(kept, true); }

  function done(text) {
    sessionStorage.setItem("mcp-flash", text);
    location.reload();
  }

  async function call(method, path, body) {
    // the CSRF token on every call: POSTs need it, and so does the MCP token's read
    const opts = { method, headers: { "Accept": "application/json", "X-CSRF-Token": csrf } };
    if (method === "POST") {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body || {});
    }
    const r = await fetch(path, opts);
    let data = null;
    try { data = await r.json(); } catch (_) { data = { error: "HTTP " + r.status }; }
    if (!r.ok) { const err = new Error(data.error || ("HTTP " + r.status)); err.field = data.field || ""; throw err; }
    return data;
  }

  function clearErrors() {
    document.querySelectorAll(".err[data-for]").forEach((n) => { n.textContent = ""; });
  }
  function showError(err) {
    const spot = err.field !== undefined
      ? document.querySelector('.err[data-for="' + CSS.escape(err.field) + '"]') : null;
    if (spot) { spot.textContent = err.message; spot.scrollIntoView({ block: "center" }); }
    say(err.message, false);
  }

  function parseSince(text) {
    const t = text.trim();
    const m = /^(\d+(?:\.\d+)?)\s*([hd])$/.exec(t);
    if (m) return Math.floor(Date.now() / 1000 - parseFloat(m[1]) * (m[2] === "h" ? 3600 : 86400));
    const ms = Date.parse(t.replace(" ", "T") + (t.length <= 10 ? "T00:00:00Z" : "Z"));
    if (isNaN(ms)) throw Object.assign(new Error("since: give YYYY-MM-DD HH:MM (UTC) or 6h / 2d"), { field: "" });
    return Math.floor(ms / 1000);
  }

  function rollbackText(r) {
    const parts = r.changes.map((c) => "change #" + c.change_id + " (" + c.state + ")");
    return "rollback journaled: " + (parts.join(", ") || "nothing written") +
      (r.refused.length ? "; refused: " + r.refused.join("; ") : "") +
      (r.skipped.length ? "; skipped: " + r.skipped.join("; ") : "");
  }

  // --------------------------------------------------------------------------- policy edits
  const unset = new Set();
  function policyEdit() {
    const set = {};
    document.querySelectorAll("#policy input[name]").forEach((i) => {
      if (!i.disabled && i.value !== i.dataset.orig) set[i.name] = i.value;
    });
    return { set, unset: Array.from(unset), reason: (document.getElementById("policy-reason") || {}).value || "" };
  }
  function renderPreview(p) {
    const box = document.getElementById("preview");
    const rows = p.rows.filter((r) => r.now.kind !== r.edited.kind ||
      JSON.stringify(r.now.proposed_policy) !== JSON.stringify(r.edited.proposed_policy));
    box.innerHTML = "";
    const h = document.createElement("p");
    h.textContent = p.changed + " channel(s) would decide differently on the latest snapshots" +
      (p.taken_at_s ? "" : " (no cycle has run yet)");
    box.appendChild(h);
    const ul = document.createElement("ul");
    rows.slice(0, 50).forEach((r) => {
      const li = document.createElement("li");
      li.textContent = r.scid + ": " + r.now.kind + " " + r.now.proposed_policy.fee_rate_ppm +
        " ppm -> " + r.edited.kind + " " + r.edited.proposed_policy.fee_rate_ppm + " ppm";
      ul.appendChild(li);
    });
    box.appendChild(ul);
  }

  // ------------------------------------------------------------- connect an assistant
  // The page does not hold the MCP token: it is fetched (never cached) on Show or Copy.
  const mcpConnection = () => call("GET", "/api/v1/mcp-connection");
  async function copy(text, what) {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
    } else {  // plain HTTP to another machine (umbrel.local): no Clipboard API there
      const area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      const ok = document.execCommand("copy");
      area.remove();
      if (!ok) throw new Error("the browser refused to copy: press Show and copy it by hand");
    }
    say(what + " copied to the clipboard", true);
  }
  function mcpHide() {
    const token = document.getElementById("mcp-token");
    const config = document.getElementById("mcp-config");
    token.textContent = "\u2022".repeat(24);
    token.dataset.hidden = "1";
    config.textContent = config.dataset.hidden;
    document.getElementById("mcp-show").textContent = "Show";
  }

  const acts = {
    async "mcp-show"() {
      const token = document.getElementById("mcp-token");
      if (token.dataset.hidden !== "1") { mcpHide(); return; }
      const c = await mcpConnection();
      token.textContent = c.token;
      token.dataset.hidden = "0";
      document.getElementById("mcp-config").textContent = c.config;
      document.getElementById("mcp-show").textContent = "Hide";
    },
    async "mcp-copy-token"() { await copy((await mcpConnection()).token, "the MCP token"); },
    async "mcp-copy-config"() { await copy((await mcpConnection()).config, "the MCP configuration"); },
    async "mcp-copy-url"() { await copy(document.getElementById("mcp-url").textContent, "the MCP URL"); },
    async pause() {
      const reason = document.getElementById("pause-reason").value;
      const r = await call("POST", "/api/v1/pause", { reason });
      done(r.detail + " (journaled: by " + r.record.by + ")");
    },
    async resume() { const r = await call("POST", "/api/v1/resume", {}); done(r.detail); },
    async mode(btn) {
      const mode = btn.dataset.mode;
      if (mode === "live") {
        const next = await call("GET", "/api/v1/next-cycle");
        const box = document.getElementById("next-cycle");
        box.innerHTML = "";
        const p = document.createElement("p");
        p.textContent = next.changes + " fee change(s) of " + next.decisions.length + " channel(s):";
        box.appendChild(p);
        const ul = document.createElement("ul");
        next.decisions.filter((d) => d.decision.kind !== "NO_ACTION").slice(0, 30).forEach((d) => {
          const li = document.createElement("li");
          li.textContent = d.scid + ": " + d.decision.kind + " " + d.decision.current_policy.fee_rate_ppm +
            " -> " + d.decision.proposed_policy.fee_rate_ppm + " ppm";
          ul.appendChild(li);
        });
        box.appendChild(ul);
        document.getElementById("live-confirm").hidden = false;
        return;
      }
      const r = await call("POST", "/api/v1/mode", { mode });
      done(r.detail);
    },
    async "mode-live-confirm"() {
      const r = await call("POST", "/api/v1/mode", { mode: "live", confirm: true });
      done(r.detail);
    },
    async cancel() { document.getElementById("live-confirm").hidden = true; },
    async "evaluate-now"() {
      const r = await call("POST", "/api/v1/evaluate-now", {});
      done(r.detail);
    },
    async "ack-crash"() {
      const r = await call("POST", "/api/v1/ack-crash", {});
      done("acknowledged: " + (r.acknowledged.map((c) => "#" + c.crash_id + " " + c.kind + " (" + c.source + ")").join(", ") || "none") +
        (r.safe_mode_cleared.length ? "; safe mode cleared: " + r.safe_mode_cleared.join("; ") : ""));
    },
    async rollback(btn) {
      const r = await call("POST", "/api/v1/rollback", { target: "change", change_id: parseInt(btn.dataset.change, 10) });
      done(rollbackText(r));
    },
    async close(btn) {
      const typed = document.getElementById("close-confirm").value.trim();
      const reason = document.getElementById("close-reason").value;
      const r = await call("POST", "/api/v1/close", { chan_id: parseInt(btn.dataset.chan, 10), confirm_scid: typed, reason });
      const last = r.change.events[r.change.events.length - 1];
      done("close of " + btn.dataset.scid + " " + r.change.state + (last ? ": " + last.detail : ""));
    },
    async "rollback-last"() { done(rollbackText(await call("POST", "/api/v1/rollback", { target: "last" }))); },
    async "rollback-since"() {
      const since = parseSince(document.getElementById("rollback-since").value);
      done(rollbackText(await call("POST", "/api/v1/rollback", { target: "since", since_s: since })));
    },
    async "policy-preview"() { renderPreview(await call("POST", "/api/v1/policy/preview", policyEdit())); },
    async "policy-undo"(btn) {
      const r = await call("POST", "/api/v1/policy/undo", { policy_change_id: parseInt(btn.dataset.id, 10) });
      done("policy change #" + r.record.policy_change_id + " journaled (undoes #" + r.record.undoes + ")");
    },
  };

  document.addEventListener("click", async (ev) => {
    const btn = ev.target.closest("button");
    if (!btn) return;
    if (btn.dataset.unset) {
      ev.preventDefault();
      unset.add(btn.dataset.unset);
      btn.textContent = "unset on save";
      btn.disabled = true;
      return;
    }
    const act = btn.dataset.act;
    if (!act || !acts[act]) return;
    ev.preventDefault();
    clearErrors();
    btn.disabled = true;
    try { await acts[act](btn); } catch (err) { showError(err); } finally { btn.disabled = false; }
  });

  const pform = document.getElementById("policy-form");
  if (pform) {
    pform.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      clearErrors();
      try {
        const r = await call("POST", "/api/v1/policy", policyEdit());
        done("policy change #" + r.record.policy_change_id + " journaled; it applies from the next cycle");
      } catch (err) { showError(err); }
    });
  }
  const oform = document.getElementById("override-form");
  if (oform) {
    oform.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      clearErrors();
      const f = new FormData(oform);
      const key = "channels." + oform.dataset.scid;
      const kind = f.get("ov");
      const note = f.get("note") || "";
      const num = (v) => { const n = Number(v); return String(v).trim() !== "" && !isNaN(n) ? n : v; };
      let body;
      if (kind === "none") body = { unset: [key] };
      else {
        const ov = {};
        if (kind === "exclude") ov.exclude = true;
        if (kind === "pin") ov.pin = { fee_rate_ppm: num(f.get("pin")) };
        if (kind === "bounds") {
          ov.bounds = {};
          if (f.get("min")) ov.bounds.min_fee_rate_ppm = num(f.get("min"));
          if (f.get("max")) ov.bounds.max_fee_rate_ppm = num(f.get("max"));
        }
        if (note) ov.note = note;
        body = { set: { [key]: ov } };
      }
      body.reason = "override of " + oform.dataset.scid + " from its page";
      try {
        const r = await call("POST", "/api/v1/policy", body);
        done("policy change #" + r.record.policy_change_id + " journaled; it applies from the next cycle");
      } catch (err) { err.field = key; showError(err); }
    });
  }
})();

"use strict";
// The playground: pick a user and guild, send a slash command through
// discordsim, and show the bot's reply with the node and shard that handled it.
(function () {
  const $ = (id) => document.getElementById(id);
  let state = { users: [], guilds: [], commands: [] };

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  async function api(path, body) {
    const opts = body === undefined ? {} : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
    const res = await fetch(path, opts);
    const data = await res.json().catch(() => ({ error: res.statusText }));
    if (!res.ok) throw new Error(data.error || res.statusText);
    return data;
  }

  function fillSelect(sel, items, label) {
    const keep = sel.value;
    sel.replaceChildren(...items.map((it) => { const o = el("option", "", label(it)); o.value = it.id; return o; }));
    if (keep && items.some((it) => it.id === keep)) sel.value = keep;
  }

  async function loadState() {
    state = await api("/api/state");
    fillSelect($("user"), state.users, (u) => u.name);
    fillSelect($("guild"), state.guilds, (g) => g.name + " (shard " + g.shard + ")");
    $("commands").replaceChildren(...state.commands.map((c) => { const o = el("option"); o.value = "/" + c.usage; return o; }));
    $("cmdhelp").replaceChildren(...state.commands.map((c) => el("li", "", "/" + c.usage + " — " + c.description)));
  }

  function renderReply(entry, reply, ctx) {
    if (reply.content) entry.append(el("div", "content", reply.content));
    for (const e of reply.embeds || []) {
      const box = el("div", "embed");
      if (e.color) box.style.borderLeftColor = "#" + e.color.toString(16).padStart(6, "0");
      if (e.title) box.append(el("div", "title", e.title));
      if (e.description) box.append(el("div", "content", e.description));
      for (const f of e.fields || []) { const fe = el("div", "field"); fe.append(el("b", "", f.name), el("span", "", f.value)); box.append(fe); }
      if (e.footer && e.footer.text) box.append(el("div", "meta", e.footer.text));
      entry.append(box);
    }
    const buttons = [];
    for (const row of reply.components || []) for (const c of row.components || []) if (c.type === 2 && c.custom_id) buttons.push(c);
    if (buttons.length) {
      const bar = el("div", "buttons");
      for (const b of buttons) {
        const btn = el("button", b.style === 4 ? "danger" : "secondary", b.label || "…");
        btn.disabled = !!b.disabled;
        btn.addEventListener("click", () => click(ctx, reply.message_id, b.custom_id, b.label));
        bar.append(btn);
      }
      entry.append(bar);
    }
  }

  function addEntry(title) {
    const entry = el("li", "entry");
    entry.append(el("div", "cmd", title));
    $("log").append(entry);
    return entry;
  }

  function meta(entry, res) {
    const bits = [];
    if (res.handled_by) bits.push("handled by " + res.handled_by.node + " · shard " + res.handled_by.shard);
    if (res.latency_ms !== undefined) bits.push(res.latency_ms + " ms");
    if (res.reply && res.reply.ephemeral) bits.push("only you can see this");
    if (res.reply && res.reply.deferred) bits.push("deferred");
    entry.append(el("div", "meta", bits.join(" · ")));
  }

  async function send(ev) {
    ev.preventDefault();
    const text = $("command").value.trim();
    if (!text) return;
    const ctx = { user_id: $("user").value, guild_id: $("guild").value };
    const userName = $("user").selectedOptions[0] ? $("user").selectedOptions[0].textContent : "";
    const entry = addEntry(userName + ": " + text);
    $("send").disabled = true;
    try {
      const res = await api("/api/invoke", Object.assign({ text }, ctx));
      renderReply(entry, res.reply, ctx);
      meta(entry, res);
    } catch (e) {
      entry.classList.add("error");
      entry.append(el("div", "content", e.message));
    } finally {
      $("send").disabled = false;
    }
  }

  async function click(ctx, messageId, customId, label) {
    const entry = addEntry("clicked “" + (label || customId) + "”");
    try {
      const res = await api("/api/click", Object.assign({ message_id: messageId, custom_id: customId }, ctx));
      renderReply(entry, res.reply, ctx);
      meta(entry, res);
    } catch (e) {
      entry.classList.add("error");
      entry.append(el("div", "content", e.message));
    }
  }

  async function loadNodes() {
    let data;
    try { data = await api("/api/nodes"); } catch (e) { return; }
    const rows = data.nodes.map((n) => {
      const row = el("div", "node");
      row.dataset.node = n.id;
      const left = el("div");
      left.append(el("div", "", n.id));
      const st = el("div", "state");
      const dot = el("span", n.running ? "up" : "down", n.running ? "● running" : "● stopped");
      st.append(dot);
      if (n.shards) st.append(document.createTextNode(" · shards " + (n.shards.length ? n.shards.join(", ") : "none")));
      if (n.pending && n.pending.length) st.append(document.createTextNode(" · connecting " + n.pending.join(", ")));
      if (n.leader) st.append(document.createTextNode(" · leader"));
      left.append(st);
      if (n.running) {
        const a = el("a", "dash", "dashboard");
        a.href = "http://" + n.http_addr + "/";
        a.target = "_blank";
        a.rel = "noopener";
        left.append(a);
      }
      const actions = el("div", "actions");
      const mk = (label, action, cls) => { const b = el("button", cls, label); b.addEventListener("click", () => api("/api/nodes/" + n.id + "/" + action, {}).then(loadNodes, (e) => alert(e.message))); return b; };
      if (n.running) { actions.append(mk("Drain", "stop", "secondary"), mk("Kill", "kill", "danger")); }
      else { actions.append(mk("Start", "start", "")); }
      row.append(left, actions);
      return row;
    });
    $("nodes").replaceChildren(...rows);
  }

  // The reshard control: the shard count, a reshard's progress, start and abort.
  async function loadReshard() {
    let st;
    try { st = await api("/api/reshard"); } catch (e) { return; }
    const r = st.reshard;
    const n = $("reshard-n");
    if (!n.value) n.value = st.shard_count + 1;
    $("reshard-abort").hidden = !r;
    $("reshard-go").disabled = !!r;
    $("reshard-state").textContent = r
      ? "Resharding " + r.from + " → " + r.to + ": " + r.phase + ", ready " + r.ready + "/" + r.to + ", serving " + r.live + "/" + r.to + ", identifies " + r.identifies_spent
      : st.shard_count + " shards; reshard online: the new shards warm up beside the old ones, then take over.";
  }

  function reshardAction(path, body) {
    api(path, body).then(() => { $("reshard-n").value = ""; loadReshard(); loadNodes(); }, (e) => alert(e.message));
  }

  async function toggleVoice() {
    const btn = $("voice");
    const join = btn.dataset.inVoice !== "true";
    try {
      const res = await api("/api/voice", { user_id: $("user").value, guild_id: $("guild").value, join });
      btn.dataset.inVoice = String(res.in_voice);
      btn.textContent = res.in_voice ? "Leave voice" : "Join voice";
    } catch (e) {
      const en = addEntry("voice"); en.classList.add("error"); en.append(el("div", "content", e.message));
    }
  }

  function resetVoice() {
    $("voice").dataset.inVoice = "false";
    $("voice").textContent = "Join voice";
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("composer").addEventListener("submit", send);
    $("voice").addEventListener("click", toggleVoice);
    $("user").addEventListener("change", resetVoice);
    $("guild").addEventListener("change", resetVoice);
    loadState().catch((e) => { const en = addEntry("playground"); en.classList.add("error"); en.append(el("div", "content", e.message)); });
    loadNodes();
    setInterval(loadNodes, 2000);
    loadReshard();
    setInterval(loadReshard, 1000);
    $("reshard").addEventListener("submit", (ev) => { ev.preventDefault(); reshardAction("/api/reshard", { shards: Number($("reshard-n").value) }); });
    $("reshard-abort").addEventListener("click", () => reshardAction("/api/reshard/abort", {}));
  });
})();

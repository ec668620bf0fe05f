"use strict";
// The playground: pick a user and guild, send a slash command through
// discordsim, and show the bot's reply with the node and shard that handled it.
(function () {
  const $ = (id) => document.getElementById(id);
  let state = { users: [], guilds: [], commands: [] };
  const messages = new Map(); // message ID → its entry, for updates in place

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

  // md renders the markdown Discord clients render in replies: **bold**,
  // `code`, [links](https://…), user mentions and timestamps, into DOM
  // nodes (never HTML).
  function md(text) {
    const frag = document.createDocumentFragment();
    const re = /\*\*(.+?)\*\*|`([^`]+)`|<@!?(\d+)>|<t:(\d+)(?::([a-zA-Z]))?>|\[([^\]]+)\]\((https?:\/\/[^)\s]+)\)/g;
    let last = 0;
    let m;
    while ((m = re.exec(text)) !== null) {
      frag.append(text.slice(last, m.index));
      if (m[1] !== undefined) frag.append(el("b", "", m[1]));
      else if (m[2] !== undefined) frag.append(el("code", "", m[2]));
      else if (m[6] !== undefined) {
        const a = el("a", "", m[6]);
        a.href = m[7];
        a.target = "_blank";
        a.rel = "noopener noreferrer";
        frag.append(a);
      } else if (m[3] !== undefined) {
        const u = state.users.find((x) => x.id === m[3]);
        frag.append(el("span", "mention", "@" + (u ? u.name : m[3])));
      } else {
        const when = new Date(Number(m[4]) * 1000);
        const secs = Math.round((when.getTime() - Date.now()) / 1000);
        let label = when.toLocaleString();
        if (m[5] === "R") {
          const abs = Math.abs(secs);
          const unit = abs >= 86400 ? [Math.round(abs / 86400), "day"] : abs >= 3600 ? [Math.round(abs / 3600), "hour"] : abs >= 60 ? [Math.round(abs / 60), "minute"] : [abs, "second"];
          const phrase = unit[0] + " " + unit[1] + (unit[0] === 1 ? "" : "s");
          label = secs >= 0 ? "in " + phrase : phrase + " ago";
        }
        const t = el("time", "stamp", label);
        t.dateTime = when.toISOString();
        frag.append(t);
      }
      last = re.lastIndex;
    }
    frag.append(text.slice(last));
    return frag;
  }
  function mdEl(tag, cls, text) { const e = el(tag, cls); e.append(md(text)); return e; }

  // Button styles as Discord draws them: 1 primary, 2 secondary, 3 success, 4 danger, 5 link.
  const buttonClass = { 1: "", 2: "secondary", 3: "success", 4: "danger", 5: "secondary" };

  // renderReply draws a reply into the entry's body: content, embeds, then
  // the components row by row (buttons, and select menus of every type).
  function renderReply(entry, reply, ctx) {
    let body = entry.querySelector(".body");
    if (!body) { body = el("div", "body"); entry.append(body); }
    body.replaceChildren();
    if (reply.message_id) { entry.dataset.message = reply.message_id; messages.set(reply.message_id, entry); }
    if (reply.content) body.append(mdEl("div", "content", reply.content));
    for (const e of reply.embeds || []) {
      const box = el("div", "embed");
      if (e.color) box.style.borderLeftColor = "#" + e.color.toString(16).padStart(6, "0");
      if (e.title) box.append(el("div", "title", e.title));
      if (e.description) box.append(mdEl("div", "content", e.description));
      for (const f of e.fields || []) { const fe = el("div", "field"); fe.append(el("b", "", f.name), mdEl("span", "", f.value)); box.append(fe); }
      if (e.footer && e.footer.text) box.append(mdEl("div", "meta", e.footer.text));
      body.append(box);
    }
    for (const row of reply.components || []) {
      const bar = el("div", "buttons");
      for (const c of row.components || []) {
        if (c.type === 2 && c.style === 6 && c.sku_id) {
          // A premium button: Discord shows the SKU's name and price and
          // opens its store; discordsim completes the purchase at once.
          const name = premiumNames[c.sku_id] || "SKU " + c.sku_id;
          const btn = el("button", "premium", "🛒 " + name);
          btn.addEventListener("click", () => buy(ctx, reply.message_id, c.sku_id, name));
          bar.append(btn);
        } else if (c.type === 2 && c.custom_id) {
          const btn = el("button", buttonClass[c.style] || "secondary", (c.emoji && c.emoji.name ? c.emoji.name + " " : "") + (c.label || "…"));
          btn.disabled = !!c.disabled;
          btn.dataset.customId = c.custom_id;
          btn.addEventListener("click", () => click(ctx, reply.message_id, c.custom_id, c.label));
          bar.append(btn);
        } else if (c.type >= 3 && c.type <= 8 && c.type !== 4) {
          bar.append(selectMenu(c, ctx, reply.message_id));
        }
      }
      if (bar.childElementCount) body.append(bar);
    }
  }

  // selectMenu draws a select of any type: a string select's options, or
  // the users (type 5, 7) and channels the playground knows.
  function selectMenu(c, ctx, messageId) {
    const sel = el("select", "menu");
    sel.dataset.customId = c.custom_id;
    sel.disabled = !!c.disabled;
    const multi = (c.max_values || 1) > 1;
    sel.multiple = multi;
    if (!multi) { const ph = el("option", "", c.placeholder || "Make a selection"); ph.value = ""; ph.disabled = true; ph.selected = true; sel.append(ph); }
    let options = [];
    if (c.type === 3) options = (c.options || []).map((o) => ({ label: o.label, value: o.value, description: o.description, selected: !!o.default }));
    if (c.type === 5 || c.type === 7) options = state.users.map((u) => ({ label: "@" + u.name, value: u.id }));
    if (c.type === 6 || c.type === 7) options = options.concat([{ label: "@everyone", value: ctx.guild_id }]);
    for (const o of options) {
      const opt = el("option", "", o.label + (o.description ? " — " + o.description : ""));
      opt.value = o.value;
      if (o.selected) { opt.selected = true; }
      sel.append(opt);
    }
    sel.addEventListener("change", () => {
      const values = Array.from(sel.selectedOptions).map((o) => o.value).filter((v) => v !== "");
      if (!multi && values.length) click(ctx, messageId, c.custom_id, sel.selectedOptions[0].textContent, values);
    });
    if (multi) {
      const wrap = el("span", "multi");
      const go = el("button", "secondary", "Choose");
      go.addEventListener("click", () => click(ctx, messageId, c.custom_id, c.placeholder, Array.from(sel.selectedOptions).map((o) => o.value)));
      wrap.append(sel, go);
      return wrap;
    }
    return sel;
  }

  // showModal draws the modal the bot opened; Submit sends what was typed.
  function showModal(modal, ctx) {
    const back = el("div", "modal-back");
    const form = el("form", "modal");
    form.id = "modal";
    form.append(el("h3", "", modal.title));
    const inputs = [];
    const addInput = (label, c) => {
      const lab = el("label", "modal-field", label || c.label || c.custom_id);
      const input = el(c.style === 2 ? "textarea" : "input");
      input.name = c.custom_id;
      if (c.placeholder) input.placeholder = c.placeholder;
      if (c.value) input.value = c.value;
      input.required = c.required !== false;
      if (c.min_length) input.minLength = c.min_length;
      if (c.max_length) input.maxLength = c.max_length;
      lab.append(input);
      form.append(lab);
      inputs.push(input);
    };
    for (const top of modal.components || []) {
      if (top.type === 1) for (const c of top.components || []) { if (c.type === 4) addInput(c.label, c); }
      if (top.type === 18 && top.component && top.component.type === 4) addInput(top.label, top.component);
      if (top.type === 10) form.append(el("div", "content", top.content));
    }
    const actions = el("div", "buttons");
    const cancel = el("button", "secondary", "Cancel");
    cancel.type = "button";
    cancel.addEventListener("click", () => back.remove());
    const submit = el("button", "", "Submit");
    submit.type = "submit";
    actions.append(cancel, submit);
    form.append(actions);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const text = {};
      for (const i of inputs) text[i.name] = i.value;
      back.remove();
      const entry = addEntry("submitted “" + modal.title + "”");
      try {
        show(entry, await api("/api/submit", Object.assign({ interaction_id: modal.interaction_id, text }, ctx)), ctx);
      } catch (e) { failed(entry, e); }
    });
    back.append(form);
    document.body.append(back);
    if (inputs.length) inputs[0].focus();
  }

  // show renders an answer: a modal to fill in, an update of the message
  // the component was on (redrawn in place), or a new reply.
  function show(entry, res, ctx) {
    if (res.modal) {
      entry.append(el("div", "meta", "the bot opened a form"));
      showModal(res.modal, ctx);
      return;
    }
    const target = res.updated && res.reply.message_id && messages.get(res.reply.message_id);
    if (target && target !== entry) {
      renderReply(target, res.reply, ctx);
      target.classList.add("updated");
      entry.append(el("div", "meta", "updated the message above"));
      meta(entry, res);
      return;
    }
    renderReply(entry, res.reply, ctx);
    meta(entry, res);
  }

  function failed(entry, e) {
    entry.classList.add("error");
    entry.append(el("div", "content", e.message));
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
    hideSuggestions();
    const text = $("command").value.trim();
    if (!text) return;
    const ctx = { user_id: $("user").value, guild_id: $("guild").value };
    const userName = $("user").selectedOptions[0] ? $("user").selectedOptions[0].textContent : "";
    const entry = addEntry(userName + ": " + text);
    $("send").disabled = true;
    try {
      show(entry, await api("/api/invoke", Object.assign({ text }, ctx)), ctx);
    } catch (e) {
      failed(entry, e);
    } finally {
      $("send").disabled = false;
    }
  }

  // actor is who acts on a message now: the user picked at the top (as on
  // Discord, whoever presses a button), in the message's guild.
  function actor(ctx) {
    return { user_id: $("user").value, guild_id: ctx.guild_id };
  }
  function actorName() {
    return $("user").selectedOptions[0] ? $("user").selectedOptions[0].textContent + " " : "";
  }

  async function click(ctx, messageId, customId, label, values) {
    const by = actor(ctx);
    const entry = addEntry(actorName() + (values ? "picked “" : "clicked “") + (label || customId) + "”");
    try {
      const body = Object.assign({ message_id: messageId, custom_id: customId }, by);
      if (values) body.values = values;
      show(entry, await api("/api/click", body), by);
    } catch (e) {
      failed(entry, e);
    }
  }

  // Autocomplete: while an option with suggestions is typed, the bot's
  // choices show under the box; picking one puts its value in the command.
  let typingSeq = 0;
  let typingTimer = null;
  function hideSuggestions() { $("suggestions").replaceChildren(); $("suggestions").hidden = true; }
  function onTyping() {
    clearTimeout(typingTimer);
    typingTimer = setTimeout(suggest, 150);
  }
  async function suggest() {
    const text = $("command").value;
    const seq = ++typingSeq;
    if (!text.startsWith("/") || !text.includes(" ")) { hideSuggestions(); return; }
    let res;
    try {
      res = await api("/api/autocomplete", { user_id: $("user").value, guild_id: $("guild").value, text });
    } catch (e) { hideSuggestions(); return; }
    if (seq !== typingSeq) return; // a newer keystroke is on its way
    const box = $("suggestions");
    if (!res.choices || !res.choices.length) { hideSuggestions(); return; }
    box.replaceChildren(...res.choices.map((c) => {
      const li = el("li", "suggestion", c.name);
      li.dataset.value = String(c.value);
      li.addEventListener("mousedown", (ev) => { ev.preventDefault(); pick(res.line, res.focused, String(c.value)); });
      return li;
    }));
    box.hidden = false;
  }
  // pick puts value into the focused option: the line the bot's
  // suggestions were for, without the typed part, then focused:value.
  function pick(line, focused, value) {
    const v = /\s/.test(value) ? '"' + value + '"' : value;
    $("command").value = line + " " + focused + ":" + v + " ";
    hideSuggestions();
    $("command").focus();
  }

  let premiumNames = {};

  async function buy(ctx, messageId, skuId, name) {
    const entry = addEntry(actorName() + "bought “" + name + "”");
    try {
      await api("/api/premium-click", Object.assign({ message_id: messageId, sku_id: skuId }, actor(ctx)));
      entry.append(el("div", "content", "Purchased through discordsim. Try /premium or /balance."));
    } catch (e) {
      entry.classList.add("error");
      entry.append(el("div", "content", e.message));
    }
  }

  async function subscription(action) {
    const userName = $("user").selectedOptions[0] ? $("user").selectedOptions[0].textContent : "";
    const entry = addEntry(userName + ": premium " + action);
    try {
      const res = await api("/api/subscription", { user_id: $("user").value, guild_id: $("guild").value, action });
      entry.append(el("div", "content", "Subscription " + res.status + ", period ends " + res.period_end + ". Try /premium or /balance."));
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
    $("command").addEventListener("input", onTyping);
    $("command").addEventListener("blur", () => setTimeout(hideSuggestions, 200));
    $("voice").addEventListener("click", toggleVoice);
    for (const b of $("premium").querySelectorAll("button[data-sub]")) b.addEventListener("click", () => subscription(b.dataset.sub));
    api("/api/premium").then((d) => { premiumNames = d.skus || {}; }, () => {});
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

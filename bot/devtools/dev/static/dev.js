// The local Slack page of `convbot dev`: draws the server's state (GET /dev/api/state, long-polled)
// and sends what the person does (commands, clicks, modal submissions) to /dev/api/….
//
// Everything is redrawn from the state; what the person is in the middle of (composer text,
// select choices, values typed into an open modal, focus, an open overflow menu) lives outside
// the state and is put back after each redraw.
"use strict";

(() => {
  const BOT_NAME = "convbot";
  const NOT_CONV = "Only /conv commands go to the bot here";

  // The few emoji the bot uses; any other :name: is left as text.
  const EMOJI = {
    zzz: "💤", rotating_light: "🚨", white_check_mark: "✅", warning: "⚠️", bell: "🔔",
    fire: "🔥", hourglass: "⌛", hourglass_flowing_sand: "⏳", red_circle: "🔴",
    large_orange_circle: "🟠", large_yellow_circle: "🟡", white_circle: "⚪",
    large_blue_circle: "🔵", information_source: "ℹ️", pager: "📟", tada: "🎉",
    arrows_counterclockwise: "🔄", mag: "🔍",
    // The transcript's and the thread-reply mode's.
    speech_balloon: "💬", lock: "🔒", paperclip: "📎", thread: "🧵", bust_in_silhouette: "👤",
    round_pushpin: "📍", robot_face: "🤖", headphones: "🎧", gear: "⚙️", heavy_check_mark: "✔️",
    x: "❌", memo: "📝", eyes: "👀", outbox_tray: "📤", envelope: "✉️", no_entry: "⛔",
    heavy_multiplication_x: "✖️", email: "📧", "+1": "👍",
  };

  const $ = (id) => document.getElementById(id);
  const query = new URLSearchParams(location.search);

  const ui = {
    user: query.get("user"),
    channel: query.get("channel"),
    home: query.get("tab") === "home",
    thread: query.get("thread"), // the ts of the thread open beside the channel, or null
    state: null,
    version: null,
    pollGen: 0, // bumped to abandon a long-poll whose user or channel is out of date
    controller: null,
    modalValues: new Map(), // view id → {block key: {action_id: value}}: what was typed
    submitErrors: new Map(), // view id → {block_id: message} from the last submit's answer
    modalJson: new Map(), // view id → the view JSON drawn, to notice a views.update
    selectValues: new Map(), // element key → value chosen in a message/home select
    drawn: { messages: null, home: null, modal: null, modalId: null, thread: null }, // on screen
  };

  // --- small helpers ----------------------------------------------------------------------------

  function h(tag, attrs = {}, ...children) {
    const el = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value == null || value === false) continue;
      if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
      else if (name === "html") el.innerHTML = value;
      else el.setAttribute(name, value === true ? "" : value);
    }
    el.append(...children.flat().filter((child) => child != null && child !== false));
    return el;
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function escapeHtml(text) {
    return String(text)
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  }

  // Slack sends mrkdwn with &amp; &lt; &gt; already escaped: keep those, escape everything else.
  function escapeSlack(text) {
    return String(text)
      .replace(/&(?!(?:amp|lt|gt);)/g, "&amp;")
      .replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  }

  const unescapeSlack = (text) =>
    text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");

  // Works on raw text and on escaped HTML alike (entities hold no colons).
  const emojify = (text) => text.replace(/:([a-z0-9_+-]+):/g, (code, name) => EMOJI[name] ?? code);

  // A plain_text object as a string (for buttons, options, labels): emoji codes replaced.
  function plainString(obj) {
    if (!obj) return "";
    if (typeof obj === "string") return obj;
    return obj.type === "mrkdwn" || obj.emoji !== false ? emojify(obj.text ?? "") : obj.text ?? "";
  }

  // A text object as safe HTML.
  function textHtml(obj) {
    if (!obj) return "";
    if (obj.type === "mrkdwn") return mrkdwn(obj.text);
    return escapeHtml(plainString(obj)).replace(/\n/g, "<br>");
  }

  // A text object as the plain text a person reads (for window.confirm).
  function textPlain(obj) {
    const el = document.createElement("div");
    el.innerHTML = textHtml(obj).replace(/<br>/g, "\n");
    return el.textContent;
  }

  function userName(id, label) {
    if (ui.state && id === ui.state.bot_user) return BOT_NAME;
    const user = ui.state?.users?.find((u) => u.id === id);
    return user ? user.name : label || id;
  }

  function displayName(id) {
    const user = ui.state?.users?.find((u) => u.id === id);
    return user ? user.real_name || user.name : id || "unknown";
  }

  function channelName(id, label) {
    const channel = ui.state?.channels?.find((c) => c.id === id);
    return channel ? channel.name : label || id;
  }

  const safeUrl = (url) => /^(https?:|mailto:)/i.test(url);

  // --- mrkdwn → HTML ----------------------------------------------------------------------------

  function mrkdwn(text) {
    // Pieces already turned into HTML (code, links, mentions) wait in `slots` behind a marker,
    // so the escaping and the *bold*/_italic_ rules below never touch them.
    const slots = [];
    const keep = (html) => `\u0000${slots.push(html) - 1}\u0000`;
    let s = String(text ?? "");
    s = s.replace(/```([\s\S]*?)```/g, (_, code) =>
      keep(`<pre class="md-pre">${escapeSlack(code.replace(/^\n/, ""))}</pre>`));
    s = s.replace(/`([^`\n]+)`/g, (_, code) => keep(`<code class="md-code">${escapeSlack(code)}</code>`));
    s = s.replace(/<([^<>\n]+)>/g, (_, body) => keep(token(body)));
    s = escapeSlack(s);
    s = s.replace(/(^|[^\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])/g, "$1<strong>$2</strong>");
    s = s.replace(/(^|[^\w_])_(?=\S)([^_\n]*?\S)_(?![\w_])/g, "$1<em>$2</em>");
    s = s.replace(/(^|[^\w~])~(?=\S)([^~\n]*?\S)~(?![\w~])/g, "$1<del>$2</del>");
    s = s.replace(/(^|\n)&gt; ?([^\n]*)/g, '$1<span class="md-quote">$2</span>');
    s = emojify(s).replace(/\n/g, "<br>");
    return s.replace(/\u0000(\d+)\u0000/g, (_, i) => slots[Number(i)]);
  }

  // One `<…>` token: a mention, a channel, a special (!here, !date, !subteam) or a link.
  function token(body) {
    const bar = body.indexOf("|");
    const target = bar < 0 ? body : body.slice(0, bar);
    const label = bar < 0 ? "" : body.slice(bar + 1);
    const mention = (text) => `<span class="mention">${escapeHtml(text)}</span>`;
    if (target.startsWith("@")) return mention("@" + userName(target.slice(1), unescapeSlack(label)));
    if (target.startsWith("#")) return mention("#" + channelName(target.slice(1), unescapeSlack(label)));
    if (target.startsWith("!")) {
      const parts = target.slice(1).split("^");
      if (["here", "channel", "everyone"].includes(parts[0])) return mention("@" + parts[0]);
      if (parts[0] === "subteam") {
        const handle = ui.state?.usergroups?.[parts[1]];
        return mention(label ? unescapeSlack(label).replace(/^@?/, "@") : "@" + (handle || parts[1]));
      }
      if (parts[0] === "date") return slackDate(parts, unescapeSlack(label));
      return escapeSlack(label || target);
    }
    const url = unescapeSlack(target);
    if (!safeUrl(url)) return escapeSlack(label || target);
    const shown = label ? escapeSlack(label) : escapeHtml(url);
    return `<a href="${escapeHtml(url)}" target="_blank" rel="noopener noreferrer">${shown}</a>`;
  }

  // `<!date^1767603600^{date_short_pretty} at {time}|fallback>` in the viewer's time zone.
  function slackDate(parts, fallback) {
    const at = new Date(Number(parts[1]) * 1000);
    if (Number.isNaN(at.getTime())) return escapeHtml(fallback);
    const fmt = (options) => at.toLocaleDateString("en-US", options);
    const dayDiff = Math.round((startOfDay(at) - startOfDay(new Date())) / 86400000);
    const pretty = { 0: "Today", [-1]: "Yesterday", 1: "Tomorrow" }[dayDiff];
    const short = fmt({ month: "short", day: "numeric", year: "numeric" });
    const long = fmt({ month: "long", day: "numeric", year: "numeric" });
    const full = fmt({ weekday: "long", month: "long", day: "numeric", year: "numeric" });
    const pad = (n) => String(n).padStart(2, "0");
    const tokens = {
      date_num: `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}`,
      date: long, date_short: short, date_long: full,
      date_pretty: pretty || long, date_short_pretty: pretty || short, date_long_pretty: pretty || full,
      time: `${pad(at.getHours())}:${pad(at.getMinutes())}`,
      time_secs: `${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}`,
    };
    let known = true;
    const text = (parts[2] || "{date_short} {time}").replace(/\{(\w+)\}/g, (_, name) => {
      if (!(name in tokens)) known = false;
      return tokens[name] ?? "";
    });
    const shown = known ? text : fallback || text;
    return `<time datetime="${at.toISOString()}" title="${escapeHtml(fallback)}">${escapeHtml(shown)}</time>`;
  }

  function startOfDay(date) {
    return new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime();
  }

  // --- talking to the server --------------------------------------------------------------------

  async function post(path, body) {
    try {
      const response = await fetch(path, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      const answer = await response.json().catch(() => ({ ok: false, error: `HTTP ${response.status}` }));
      if (!answer.ok && path !== "/dev/api/command") toast(answer.error || "That did not work.");
      return answer;
    } catch (error) {
      toast("The dev server cannot be reached.");
      return { ok: false, error: "The dev server cannot be reached." };
    }
  }

  let toastTimer = null;
  function toast(message) {
    const el = $("toast");
    el.textContent = message;
    el.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { el.hidden = true; }, 5000);
  }

  // Long-poll the state; a new generation (user or channel changed) abandons the old loop.
  async function poll(gen, signal) {
    while (gen === ui.pollGen) {
      const params = new URLSearchParams({ user: ui.user || "", channel: ui.channel || "" });
      if (ui.version != null) params.set("since", String(ui.version));
      if (ui.home) params.set("tab", "home"); // the channel is not on screen: nothing read
      else if (ui.thread) params.set("thread", ui.thread);
      try {
        const response = await fetch(`/dev/api/state?${params}`, { signal, cache: "no-store" });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const state = await response.json();
        if (gen !== ui.pollGen) return;
        setConnected(true);
        applyState(state);
      } catch (error) {
        if (gen !== ui.pollGen) return;
        setConnected(false);
        await sleep(1000);
      }
    }
  }

  function restartPolling() {
    ui.pollGen += 1;
    ui.controller?.abort();
    ui.controller = new AbortController();
    ui.version = null;
    poll(ui.pollGen, ui.controller.signal);
  }

  function setConnected(ok) {
    const el = $("connection");
    el.textContent = ok ? "" : "Reconnecting…";
    el.classList.toggle("offline", !ok);
  }

  // --- state → screen ---------------------------------------------------------------------------

  function applyState(state) {
    ui.state = state;
    ui.version = state.version;
    // Default, or repair, the user and channel; ask again if the answer was for other ones.
    const users = state.users || [];
    const channels = state.channels || [];
    let changed = false;
    if (!users.some((u) => u.id === ui.user) && users.length) {
      ui.user = users[0].id;
      changed = true;
    }
    if (!channels.some((c) => c.id === ui.channel) && channels.length) {
      // Acting as someone else while in a DM: go to their DM with the bot.
      const wasIm = ui.channelWasIm;
      const fallback = channels.find((c) => !c.is_im) || channels[0];
      ui.channel = (wasIm && channels.find((c) => c.is_im)) || fallback;
      ui.channel = ui.channel.id;
      changed = true;
    }
    ui.channelWasIm = !!channels.find((c) => c.id === ui.channel)?.is_im;
    if (changed) {
      saveUrl();
      restartPolling();
      renderChrome();
      return;
    }
    renderChrome();
    renderMessages();
    renderHome();
    renderThread();
    renderModal();
  }

  function saveUrl() {
    const params = new URLSearchParams();
    if (ui.user) params.set("user", ui.user);
    if (ui.channel) params.set("channel", ui.channel);
    if (ui.home) params.set("tab", "home");
    else if (ui.thread) params.set("thread", ui.thread);
    history.replaceState(null, "", `${location.pathname}?${params}`);
  }

  function renderChrome() {
    const state = ui.state;
    const select = $("user-select");
    const usersKey = JSON.stringify(state.users);
    if (select.dataset.drawn !== usersKey) {
      select.replaceChildren(...state.users.map((u) => h("option", { value: u.id }, u.real_name || u.name)));
      select.dataset.drawn = usersKey;
    }
    select.value = ui.user;

    const link = (channel) => {
      const active = !ui.home && channel.id === ui.channel;
      // Bold with a count, as in Slack, until the person opens it: a page in a DM or the
      // answer to a form is noticed wherever they are looking.
      const unread = active ? 0 : channel.unread || 0;
      return h("li", {},
        h("a", {
          href: `?user=${encodeURIComponent(ui.user)}&channel=${encodeURIComponent(channel.id)}`,
          class: "sidebar-item" + (active ? " active" : "") + (unread ? " unread" : ""),
          "aria-current": active ? "page" : null,
          "aria-label": unread ? `${channel.name}, ${unread} unread` : null,
          "data-testid": "channel-link",
          "data-channel-id": channel.id,
          onclick: (event) => { event.preventDefault(); selectChannel(channel.id); },
        },
        h("span", { class: "sigil", "aria-hidden": "true" }, channel.is_im ? "●" : "#"),
        h("span", { class: "channel-name" }, channel.name),
        unread > 0 && h("span", { class: "unread-count", "data-testid": "unread-count", "aria-hidden": "true" },
          unread > 99 ? "99+" : String(unread))));
    };
    const unreadTotal = state.channels
      .filter((c) => ui.home || c.id !== ui.channel)
      .reduce((sum, c) => sum + (c.unread || 0), 0);
    document.title = unreadTotal ? `(${unreadTotal}) convbot dev` : "convbot dev";
    $("channel-list").replaceChildren(...state.channels.filter((c) => !c.is_im).map(link));
    $("dm-list").replaceChildren(...state.channels.filter((c) => c.is_im).map(link));

    const home = $("home-link");
    home.classList.toggle("active", ui.home);
    if (ui.home) home.setAttribute("aria-current", "page"); else home.removeAttribute("aria-current");

    const channel = state.channels.find((c) => c.id === ui.channel);
    $("pane-title").replaceChildren(ui.home
      ? h("span", {}, BOT_NAME, h("span", { class: "badge" }, "APP"), h("span", { class: "tab" }, "Home"))
      : h("span", {}, channel ? (channel.is_im ? channel.name : "# " + channel.name) : ""));
    $("channel-pane").hidden = ui.home;
    $("home").hidden = !ui.home;
  }

  function selectChannel(id) {
    if (id === ui.channel && !ui.home) return;
    ui.home = false;
    if (id !== ui.channel) {
      ui.channel = id;
      ui.thread = null; // a thread belongs to its channel
      ui.drawn.messages = null;
      $("messages").replaceChildren();
    }
    restartPolling(); // also back from the App Home: the channel is read now
    saveUrl();
    if (ui.state) renderChrome();
  }

  // --- messages ---------------------------------------------------------------------------------

  function renderMessages() {
    const messages = ui.state.messages || [];
    const key = JSON.stringify([ui.channel, messages, ui.state.users]);
    if (key === ui.drawn.messages) return; // nothing new: leave focus, menus and scroll alone
    const list = $("messages");
    const opening = ui.drawn.messages === null;
    const wasAtBottom = opening || ui.sent ||
      list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    ui.sent = false;
    const restore = rememberFocus(list);
    list.replaceChildren(...messages.map((message) => renderMessage(message)));
    if (!messages.length) list.append(h("div", { class: "empty" }, "No messages yet. Try /conv help."));
    ui.drawn.messages = key;
    restore();
    // As Slack, a channel opens at its first unread message (a newcomer's #support at the
    // welcome, not below the digest), else at the bottom.
    const readUpTo = parseFloat(ui.state.read_up_to || "0");
    const firstUnread = opening && messages.find((m) => parseFloat(m.ts) > readUpTo && m.user !== ui.user);
    const unreadEl = firstUnread && list.querySelector(`[data-ts="${CSS.escape(firstUnread.ts)}"]`);
    if (unreadEl && unreadEl !== list.lastElementChild) list.scrollTop = unreadEl.offsetTop;
    else if (wasAtBottom) list.scrollTop = list.scrollHeight;
  }

  // `inThread`: drawn in the thread pane (its controls keyed apart from the channel's, and no
  // "N replies" under the root, which the pane is).
  function renderMessage(message, inThread = false) {
    const isBot = message.bot || message.user === ui.state.bot_user;
    const name = isBot ? BOT_NAME : displayName(message.user);
    const ctx = {
      scope: `${inThread ? "t" : "m"}:${message.ts}`,
      container: { type: "message", message_ts: message.ts, is_ephemeral: !!message.ephemeral },
    };
    const blocks = message.blocks && message.blocks.length
      ? renderBlocks(message.blocks, ctx)
      : h("div", { class: "b-text plain", html: mrkdwn(message.text) });
    return h("article", {
      class: "message" + (message.ephemeral ? " ephemeral" : ""),
      "data-testid": "message",
      "data-ts": message.ts,
      "data-ephemeral": message.ephemeral ? "true" : null,
    },
    h("div", { class: "avatar" + (isBot ? " bot" : ""), "aria-hidden": "true" }, name.slice(0, 1).toUpperCase()),
    h("div", { class: "message-body" },
      message.ephemeral && h("div", { class: "ephemeral-note" }, h("span", { "aria-hidden": "true" }, "👁 "), "Only visible to you"),
      h("div", { class: "message-head" },
        h("span", { class: "author" }, name),
        isBot && h("span", { class: "badge" }, "APP"),
        h("time", { class: "time" }, formatTs(message.ts))),
      blocks,
      message.edited && h("span", { class: "edited" }, "(edited)"),
      renderReactions(message.reactions),
      !inThread && message.reply_count > 0 && renderReplies(message)));
  }

  // Reactions under a message, as Slack draws them: the emoji and how many.
  function renderReactions(reactions) {
    if (!reactions || !reactions.length) return null;
    return h("div", { class: "reactions", "data-testid": "reactions" },
      reactions.map((r) => h("span", {
        class: "reaction",
        "data-testid": "reaction",
        "data-name": r.name,
        title: `:${r.name}: by ${(r.users || []).map((u) => displayName(u)).join(", ")}`,
      }, h("span", { "aria-hidden": "true" }, EMOJI[r.name] || `:${r.name}:`),
      h("span", { class: "reaction-count" }, String(r.count)))));
  }

  // "N replies · Last reply 14:02" under a message with a thread; a click opens it beside.
  function renderReplies(message) {
    const count = message.reply_count;
    return h("button", {
      type: "button",
      class: "replies",
      "data-testid": "replies",
      onclick: () => openThread(message.ts),
    },
    (message.reply_users || []).map((u) => h("span", {
      class: "replies-avatar" + (u === ui.state.bot_user ? " bot" : ""), "aria-hidden": "true",
    }, (u === ui.state.bot_user ? BOT_NAME : displayName(u)).slice(0, 1).toUpperCase())),
    h("span", { class: "replies-count" }, count === 1 ? "1 reply" : `${count} replies`),
    message.latest_reply && h("span", { class: "replies-last" }, `Last reply ${formatTs(message.latest_reply)}`));
  }

  // --- the thread pane --------------------------------------------------------------------------

  function openThread(ts) {
    ui.thread = ts;
    ui.drawn.thread = null;
    $("thread-messages").replaceChildren();
    saveUrl();
    restartPolling(); // the next state carries the thread
  }

  function closeThread() {
    ui.thread = null;
    ui.drawn.thread = null;
    saveUrl();
    renderThread();
    restartPolling();
  }

  function renderThread() {
    const thread = ui.home ? null : ui.state?.thread;
    const open = !!(ui.thread && !ui.home);
    $("thread-pane").hidden = !open;
    $("app").classList.toggle("with-thread", open);
    if (!open) return;
    const channel = (ui.state.channels || []).find((c) => c.id === ui.channel);
    $("thread-channel").textContent = channel ? (channel.is_im ? channel.name : "# " + channel.name) : "";
    $("customer-form").hidden = !thread?.conversation;
    const key = JSON.stringify([ui.channel, thread, ui.state.users]);
    if (key === ui.drawn.thread) return;
    const list = $("thread-messages");
    const opening = ui.drawn.thread === null;
    const wasAtBottom = opening || ui.threadSent ||
      list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    ui.threadSent = false;
    const restore = rememberFocus(list);
    if (!thread) {
      list.replaceChildren(h("div", { class: "empty" }, "This message is not here any more."));
    } else {
      const [root, ...replies] = thread.messages;
      const rootEl = renderMessage(root, true);
      rootEl.classList.add("thread-root");
      // The customer's message has arrived (or something else has): the "sent" hint is done.
      if (ui.customerWaiting != null && replies.length > ui.customerWaiting) {
        ui.customerWaiting = null;
        $("thread-hint").textContent = "";
      }
      list.replaceChildren(rootEl,
        h("div", { class: "thread-count" }, replies.length === 1 ? "1 reply" : `${replies.length} replies`),
        ...replies.map((m) => renderMessage(m, true)));
    }
    ui.drawn.thread = key;
    restore();
    if (wasAtBottom) list.scrollTop = list.scrollHeight;
  }

  function formatTs(ts) {
    const at = new Date(parseFloat(ts) * 1000);
    if (Number.isNaN(at.getTime())) return "";
    return at.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
  }

  // Focus (and an open overflow menu) by element key, so a redraw does not lose them.
  function rememberFocus(root) {
    const focused = root.contains(document.activeElement) ? document.activeElement.dataset?.key : null;
    const menu = root.querySelector(".overflow-menu:not([hidden])")?.dataset.key;
    return () => {
      if (menu) root.querySelector(`.overflow-menu[data-key="${CSS.escape(menu)}"]`)?.previousSibling?.click();
      if (focused) root.querySelector(`[data-key="${CSS.escape(focused)}"]`)?.focus();
    };
  }

  // --- App Home ---------------------------------------------------------------------------------

  function renderHome() {
    const view = ui.state.home;
    const key = JSON.stringify([view, ui.state.users, ui.user]);
    if (key === ui.drawn.home) return;
    const panel = $("home");
    const restore = rememberFocus(panel);
    const ctx = { scope: "home", container: { type: "home" } };
    panel.replaceChildren(view
      ? h("div", { class: "home-blocks" }, renderBlocks(view.blocks, ctx))
      : h("div", { class: "empty" }, "The app has not published a Home tab yet."));
    ui.drawn.home = key;
    restore();
  }

  // --- modals -----------------------------------------------------------------------------------

  function renderModal() {
    const views = ui.state.views || [];
    const open = new Set(views.map((v) => v.id));
    for (const map of [ui.modalValues, ui.submitErrors, ui.modalJson]) {
      for (const id of [...map.keys()]) if (!open.has(id)) map.delete(id);
    }
    const top = views[views.length - 1];
    const layer = $("modal-layer");
    if (!top) {
      layer.replaceChildren();
      $("app").inert = false;
      ui.drawn.modal = ui.drawn.modalId = null;
      return;
    }
    const viewJson = JSON.stringify(top.view);
    if (ui.modalJson.has(top.id) && ui.modalJson.get(top.id) !== viewJson) {
      ui.submitErrors.delete(top.id); // the bot updated the view: old answers no longer apply
    }
    ui.modalJson.set(top.id, viewJson);
    // Only this page's own answer: a reload forgets what was typed, and the error with it.
    const errors = { ...(ui.submitErrors.get(top.id) || {}) };
    const key = JSON.stringify([top.id, viewJson, errors, ui.state.users]);
    if (key === ui.drawn.modal) return;

    const restore = rememberFocus(layer);
    const isNew = ui.drawn.modalId !== top.id;
    if (!ui.modalValues.has(top.id)) ui.modalValues.set(top.id, {});
    const view = top.view;
    const title = plainString(view.title) || "Modal";
    const ctx = {
      scope: `v:${top.id}`,
      container: { type: "view", view_id: top.id },
      viewId: top.id,
      values: ui.modalValues.get(top.id),
      errors,
    };
    const cancel = h("button", { type: "button", class: "bk-btn", onclick: () => closeModal(top.id) },
      plainString(view.close) || "Cancel");
    const submit = view.submit && h("button", { type: "submit", class: "bk-btn primary" }, plainString(view.submit));
    const form = h("form", { class: "modal-form", novalidate: true },
      h("div", { class: "modal-body" }, renderBlocks(view.blocks, ctx)),
      h("footer", { class: "modal-footer" }, cancel, submit));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (submit) submitModal(top, submit);
    });
    const dialog = h("div", {
      class: "modal", role: "dialog", "aria-modal": "true", "aria-label": title,
      "data-testid": "modal", "data-view-id": top.id,
      onkeydown: (event) => { if (event.key === "Escape") closeModal(top.id); },
    },
    h("header", { class: "modal-title" }, h("h2", {}, title)),
    form);
    layer.replaceChildren(h("div", { class: "overlay" }, dialog));
    $("app").inert = true; // Slack blocks the rest of the window while a modal is open
    ui.drawn.modal = key;
    ui.drawn.modalId = top.id;
    restore();
    if (isNew && !layer.contains(document.activeElement)) {
      (dialog.querySelector("input, textarea, select") || cancel).focus();
    }
  }

  async function submitModal(top, button) {
    const values = collectValues(top);
    button.disabled = true;
    const answer = await post("/dev/api/submit", { user: ui.user, view_id: top.id, values });
    button.disabled = false;
    if (answer.ok && answer.errors && Object.keys(answer.errors).length) {
      ui.submitErrors.set(top.id, answer.errors);
    } else {
      ui.submitErrors.delete(top.id);
    }
    ui.drawn.modal = null;
    if (ui.state) renderModal();
  }

  function closeModal(viewId) {
    post("/dev/api/close", { user: ui.user, view_id: viewId });
  }

  // view.state.values as Slack sends them: {block_id: {action_id: {type, …}}} of input blocks.
  function collectValues(top) {
    const stored = ui.modalValues.get(top.id) || {};
    const values = {};
    (top.view.blocks || []).forEach((block, index) => {
      if (block.type !== "input" || !block.element) return;
      const el = block.element;
      const bk = blockKey(block, index);
      const current = stored[bk]?.[el.action_id];
      const options = allOptions(el);
      const option = (value) => {
        const found = options.find((o) => o.value === value);
        return found ? { text: found.text, value: found.value } : null;
      };
      let value;
      switch (el.type) {
        case "plain_text_input": {
          const text = current ?? el.initial_value ?? "";
          value = { type: el.type, value: text === "" ? null : text };
          break;
        }
        case "static_select":
          value = { type: el.type, selected_option: option(current ?? el.initial_option?.value ?? "") };
          break;
        case "multi_static_select":
        case "checkboxes": {
          const chosen = current ?? (el.initial_options || []).map((o) => o.value);
          value = { type: el.type, selected_options: chosen.map(option).filter(Boolean) };
          break;
        }
        case "users_select":
          value = { type: el.type, selected_user: (current ?? el.initial_user) || null };
          break;
        default:
          return;
      }
      values[bk] = { [el.action_id]: value };
    });
    return values;
  }

  // --- Block Kit → DOM --------------------------------------------------------------------------

  // Input blocks without a block_id still need a stable key for their values.
  const blockKey = (block, index) => block.block_id || `#${index}`;

  function renderBlocks(blocks, ctx) {
    return h("div", { class: "blocks" },
      (blocks || []).map((block, index) => {
        const bctx = { ...ctx, block, index };
        const draw = BLOCKS[block.type];
        const el = draw ? draw(block, bctx) : unsupported("block", block.type);
        el.classList.add("block");
        if (block.block_id) el.dataset.blockId = block.block_id;
        return el;
      }));
  }

  const unsupported = (what, type) => h("div", { class: "unsupported" }, `[unsupported ${what}: ${type}]`);

  const BLOCKS = {
    header: (block) => h("h3", { class: "b-header" }, plainString(block.text)),
    divider: () => h("hr", { class: "b-divider" }),
    section(block, ctx) {
      const body = h("div", { class: "b-section-body" },
        block.text && h("div", { class: "b-text", html: textHtml(block.text) }),
        block.fields?.length && h("div", { class: "b-fields" },
          block.fields.map((field) => h("div", { class: "b-field", html: textHtml(field) }))));
      return h("div", { class: "b-section" }, body,
        block.accessory && h("div", { class: "b-accessory" }, renderElement(block.accessory, ctx, 0)));
    },
    context: (block) => h("div", { class: "b-context" },
      (block.elements || []).map((el) => el.type === "image"
        ? h("img", { class: "b-context-img", src: el.image_url, alt: el.alt_text || "" })
        : h("span", { html: textHtml(el) }))),
    actions: (block, ctx) => h("div", { class: "b-actions" },
      (block.elements || []).map((el, i) => renderElement(el, ctx, i))),
    image: (block) => h("figure", { class: "b-image" },
      block.title && h("figcaption", {}, plainString(block.title)),
      h("img", { src: block.image_url, alt: block.alt_text || "" })),
    rich_text: (block) => h("div", { class: "b-rich" }, (block.elements || []).map(richPart)),
    input(block, ctx) {
      const ictx = { ...ctx, input: true };
      const id = controlId(ictx, block.element || {});
      const error = ctx.errors?.[block.block_id];
      const labelId = id + "-label";
      const grouped = block.element?.type === "checkboxes"; // no single control to label
      return h("div", { class: "b-input" + (error ? " has-error" : "") },
        h(grouped ? "span" : "label", { class: "b-label", id: labelId, for: grouped ? null : id },
          plainString(block.label),
          block.optional && h("span", { class: "optional" }, " (optional)")),
        block.element ? renderElement(block.element, ictx, 0) : unsupported("element", "none"),
        block.hint && h("div", { class: "b-hint" }, plainString(block.hint)),
        error && h("div", { class: "input-error", role: "alert", "data-testid": "input-error" }, error));
    },
  };

  function controlId(ctx, el) {
    return `c-${ctx.scope}-${blockKey(ctx.block, ctx.index)}-${el.action_id || ""}`.replace(/[^\w-]/g, "_");
  }

  // The key that finds an element again after a redraw (focus, remembered selections).
  const elementKey = (ctx, el, i) =>
    [ctx.scope, ctx.index, ctx.block.block_id || "", el.action_id || i].join("|");

  function renderElement(el, ctx, i) {
    const draw = ELEMENTS[el.type];
    return draw ? draw(el, ctx, elementKey(ctx, el, i)) : unsupported("element", el.type);
  }

  const allOptions = (el) =>
    el.options || (el.option_groups || []).flatMap((group) => group.options || []);

  const optionPayload = (option) => ({ text: option.text, value: option.value });

  function confirmed(el) {
    if (!el.confirm) return true;
    const text = [textPlain(el.confirm.title), textPlain(el.confirm.text)].filter(Boolean).join("\n\n");
    return window.confirm(text);
  }

  // Send a block_actions click; the bot's answer arrives through the state.
  function act(ctx, el, extra) {
    const action = { type: el.type, action_id: el.action_id, ...extra };
    if (ctx.block.block_id) action.block_id = ctx.block.block_id; // else the server makes one up
    return post("/dev/api/action", { user: ui.user, channel: ui.channel, container: ctx.container, action });
  }

  // The value of an input element: typed (kept in ui.modalValues) or else its initial value.
  function inputValue(ctx, el, initial) {
    const stored = ctx.values?.[blockKey(ctx.block, ctx.index)]?.[el.action_id];
    return stored !== undefined ? stored : initial;
  }

  function storeInput(ctx, el, value) {
    const bk = blockKey(ctx.block, ctx.index);
    ctx.values[bk] = { ...(ctx.values[bk] || {}), [el.action_id]: value };
  }

  // A <select> with the placeholder as its first, empty option.
  function selectBox(el, ctx, key, choices, initial) {
    const placeholder = plainString(el.placeholder) || "Choose…";
    const select = h("select", {
      class: "bk-select",
      id: ctx.input ? controlId(ctx, el) : null,
      "aria-label": ctx.input ? null : placeholder,
      "data-key": key,
    }, h("option", { value: "" }, placeholder), choices);
    // Outside inputs, a choice made here survives redraws until the bot redraws the element.
    const memory = `${key}|${initial}`;
    const value = ctx.input ? inputValue(ctx, el, initial) : ui.selectValues.get(memory) ?? initial;
    select.value = value ?? "";
    let previous = select.value;
    select.addEventListener("change", () => {
      if (ctx.input) storeInput(ctx, el, select.value);
      const sends = !ctx.input || ctx.block.dispatch_action;
      if (!sends || select.value === "") { previous = select.value; return; }
      if (!confirmed(el)) { select.value = previous; if (ctx.input) storeInput(ctx, el, previous); return; }
      previous = select.value;
      if (!ctx.input) ui.selectValues.set(memory, select.value);
      const extra = el.type === "users_select"
        ? { selected_user: select.value }
        : { selected_option: optionPayload(allOptions(el).find((o) => o.value === select.value)) };
      act(ctx, el, extra);
    });
    return select;
  }

  const optionTags = (options) =>
    options.map((o) => h("option", { value: o.value }, plainString(o.text)));

  const ELEMENTS = {
    button(el, ctx, key) {
      return h("button", {
        type: "button",
        class: "bk-btn" + (el.style ? " " + el.style : ""),
        "data-key": key,
        "data-action-id": el.action_id,
        onclick: () => {
          if (!confirmed(el)) return;
          if (el.url && safeUrl(el.url)) window.open(el.url, "_blank", "noopener");
          act(ctx, el, el.value !== undefined ? { value: el.value } : {});
        },
      }, plainString(el.text));
    },

    static_select(el, ctx, key) {
      const choices = el.option_groups
        ? el.option_groups.map((g) => h("optgroup", { label: plainString(g.label) }, optionTags(g.options || [])))
        : optionTags(el.options || []);
      return selectBox(el, ctx, key, choices, el.initial_option?.value ?? "");
    },

    users_select(el, ctx, key) {
      const choices = (ui.state.users || []).map((u) => h("option", { value: u.id }, u.real_name || u.name));
      return selectBox(el, ctx, key, choices, el.initial_user ?? "");
    },

    // Several choices: a list <select multiple> (Ctrl/Cmd-click), only ever inside a modal input.
    multi_static_select(el, ctx, key) {
      const choices = el.option_groups
        ? el.option_groups.map((g) => h("optgroup", { label: plainString(g.label) }, optionTags(g.options || [])))
        : optionTags(el.options || []);
      const select = h("select", {
        class: "bk-select multi", multiple: true, "data-key": key,
        id: ctx.input ? controlId(ctx, el) : null,
        "aria-label": ctx.input ? null : plainString(el.placeholder) || "Choose",
        size: Math.min(6, allOptions(el).length + (el.option_groups?.length || 0)) || 2,
      }, choices);
      const chosen = inputValue(ctx, el, (el.initial_options || []).map((o) => o.value)) || [];
      for (const option of select.options) option.selected = chosen.includes(option.value);
      select.addEventListener("change", () => {
        if (ctx.values) storeInput(ctx, el, [...select.selectedOptions].map((o) => o.value));
      });
      return select;
    },

    checkboxes(el, ctx, key) {
      const chosen = inputValue(ctx, el, (el.initial_options || []).map((o) => o.value)) || [];
      const id = controlId(ctx, el);
      return h("div", { class: "bk-checkboxes", role: "group", "aria-labelledby": ctx.input ? id + "-label" : null },
        (el.options || []).map((option, i) => {
          const box = h("input", {
            type: "checkbox", value: option.value, "data-key": `${key}|${i}`,
            checked: chosen.includes(option.value),
          });
          box.addEventListener("change", () => {
            if (!ctx.values) return;
            const now = inputValue(ctx, el, chosen).filter((v) => v !== option.value);
            storeInput(ctx, el, box.checked ? [...now, option.value] : now);
          });
          return h("label", { class: "bk-checkbox" }, box,
            h("span", { html: textHtml(option.text) }),
            option.description && h("span", { class: "b-hint", html: textHtml(option.description) }));
        }));
    },

    plain_text_input(el, ctx, key) {
      const attrs = {
        class: "bk-text", id: controlId(ctx, el), "data-key": key,
        placeholder: plainString(el.placeholder) || null,
        maxlength: el.max_length || null,
        "aria-invalid": ctx.errors?.[ctx.block.block_id] ? "true" : null,
      };
      const field = el.multiline ? h("textarea", { ...attrs, rows: 4 }) : h("input", { ...attrs, type: "text" });
      field.value = inputValue(ctx, el, el.initial_value ?? "");
      field.addEventListener("input", () => { if (ctx.values) storeInput(ctx, el, field.value); });
      return field;
    },

    // "⋯" opening a small menu of the options; choosing one sends the action.
    overflow(el, ctx, key) {
      const menu = h("div", { class: "overflow-menu", role: "menu", hidden: true, "data-key": key },
        (el.options || []).map((option) => h("button", {
          type: "button", role: "menuitem", class: "overflow-item",
          onclick: () => {
            closeMenus();
            if (!confirmed(el)) return;
            if (option.url && safeUrl(option.url)) window.open(option.url, "_blank", "noopener");
            act(ctx, el, { selected_option: optionPayload(option) });
          },
        }, plainString(option.text))));
      const toggle = h("button", {
        type: "button", class: "bk-btn overflow-btn", "aria-label": "More actions",
        "aria-haspopup": "menu", "aria-expanded": "false", "data-key": key + "|btn",
        onclick: (event) => {
          event.stopPropagation();
          const opening = menu.hidden;
          closeMenus();
          if (!opening) return;
          menu.hidden = false;
          toggle.setAttribute("aria-expanded", "true");
        },
      }, "⋯");
      return h("div", { class: "overflow" }, toggle, menu);
    },

    image: (el) => h("img", { class: "b-accessory-img", src: el.image_url, alt: el.alt_text || "" }),
  };

  function closeMenus() {
    for (const menu of document.querySelectorAll(".overflow-menu:not([hidden])")) {
      menu.hidden = true;
      menu.previousSibling?.setAttribute("aria-expanded", "false");
    }
  }

  // rich_text: sections, lists, quotes and preformatted text, with basic styles.
  function richPart(part) {
    switch (part.type) {
      case "rich_text_section": return h("div", {}, richInline(part.elements));
      case "rich_text_preformatted": return h("pre", { class: "md-pre" }, richInline(part.elements));
      case "rich_text_quote": return h("blockquote", { class: "md-quote" }, richInline(part.elements));
      case "rich_text_list":
        return h(part.style === "ordered" ? "ol" : "ul", {},
          (part.elements || []).map((item) => h("li", {}, richInline(item.elements))));
      default: return unsupported("rich text", part.type);
    }
  }

  function richInline(elements) {
    return (elements || []).map((el) => {
      let node;
      switch (el.type) {
        case "text": node = document.createTextNode(el.text || ""); break;
        case "link":
          node = safeUrl(el.url || "")
            ? h("a", { href: el.url, target: "_blank", rel: "noopener noreferrer" }, el.text || el.url)
            : document.createTextNode(el.text || el.url || "");
          break;
        case "user": node = h("span", { class: "mention" }, "@" + userName(el.user_id)); break;
        case "channel": node = h("span", { class: "mention" }, "#" + channelName(el.channel_id)); break;
        case "usergroup": node = h("span", { class: "mention" }, "@" + el.usergroup_id); break;
        case "broadcast": node = h("span", { class: "mention" }, "@" + el.range); break;
        case "emoji":
          node = document.createTextNode(el.unicode
            ? String.fromCodePoint(...el.unicode.split("-").map((hex) => parseInt(hex, 16)))
            : EMOJI[el.name] ?? `:${el.name}:`);
          break;
        case "date": node = document.createTextNode(el.fallback || ""); break;
        default: node = document.createTextNode(el.text || "");
      }
      const style = el.style || {};
      if (style.code) node = h("code", { class: "md-code" }, node);
      if (style.bold) node = h("strong", {}, node);
      if (style.italic) node = h("em", {}, node);
      if (style.strike) node = h("del", {}, node);
      return node;
    });
  }

  // --- what the person does ---------------------------------------------------------------------

  function setHint(text) {
    $("composer-hint").textContent = text;
  }

  $("composer-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const composer = $("composer");
    const text = composer.value.trim();
    if (!text) return;
    const command = /^\/conv(?:\s+([\s\S]*))?$/.exec(text);
    if (!command) {
      setHint(NOT_CONV);
      return;
    }
    setHint("");
    composer.value = "";
    ui.sent = true; // what the person just did is at the bottom: go there
    const answer = await post("/dev/api/command", { user: ui.user, channel: ui.channel, text: (command[1] || "").trim() });
    if (!answer.ok) {
      setHint(answer.error || "The bot did not accept that command.");
      if (!composer.value) composer.value = text; // give the text back to fix it
    }
  });
  $("composer").addEventListener("input", () => setHint(""));

  // A person's message in the open thread (the bot gets it as Slack's `message` event), and the
  // customer's, written into the conversation as if they had sent it.
  function threadForm(formId, inputId, path, body) {
    $(formId).addEventListener("submit", async (event) => {
      event.preventDefault();
      const input = $(inputId);
      const text = input.value.trim();
      if (!text || !ui.thread) return;
      input.value = "";
      $("thread-hint").textContent = "";
      ui.threadSent = true;
      const answer = await post(path, { ...body(), thread_ts: ui.thread, text });
      if (!answer.ok) {
        $("thread-hint").textContent = answer.error || "That did not work.";
        if (!input.value) input.value = text;
      } else if (path === "/dev/api/customer") {
        $("thread-hint").textContent = "Sent as the customer: it shows here when the bot next looks.";
        ui.customerWaiting = Math.max(0, (ui.state?.thread?.messages.length || 1) - 1);
      }
    });
  }
  threadForm("thread-form", "thread-composer", "/dev/api/thread", () => ({ user: ui.user, channel: ui.channel }));
  threadForm("customer-form", "customer-composer", "/dev/api/customer", () => ({ channel: ui.channel }));
  $("thread-close").addEventListener("click", closeThread);

  $("user-select").addEventListener("change", (event) => {
    ui.user = event.target.value;
    // Everything drawn belonged to the other person.
    ui.drawn = { messages: null, home: null, modal: null, modalId: null, thread: null };
    ui.selectValues.clear();
    $("messages").replaceChildren();
    saveUrl();
    restartPolling();
  });

  $("home-link").addEventListener("click", (event) => {
    event.preventDefault();
    ui.home = true;
    saveUrl();
    restartPolling(); // the channel is off screen: what arrives there now is unread
    if (ui.state) renderChrome();
    // Slack sends app_home_opened each time the tab is opened; the bot redraws Home for it.
    post("/dev/api/home", { user: ui.user });
  });

  document.addEventListener("click", (event) => {
    if (!event.target.closest?.(".overflow")) closeMenus();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") closeMenus();
  });

  restartPolling();
})();

"use strict";
// The web chat: plays the chosen person through the emulator's control API (same origin).
(function () {
  const $ = (id) => document.getElementById(id);
  const COLORS = ["#e17076", "#7bc862", "#65aadd", "#a695e7", "#ee7aae", "#6ec9cb", "#faa774"];
  const FLAGS = { en: "🇬🇧", ru: "🇷🇺", uz: "🇺🇿" };
  const state = {
    config: null, lang: "en", chat: null, version: null, messages: [],
    poll: 0, seen: {}, unread: {}, atBottom: true, rendered: false,
  };

  const t = (key) => (state.config.texts[state.lang] || state.config.texts.en)[key] || key;
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => (
    { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));

  async function control(method, path, body) {
    const response = await fetch(`/control/bots/${state.config.token}${path}`, {
      method, headers: body ? { "content-type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    const data = await response.json();
    if (!response.ok) throw new Error(data.error || response.statusText);
    return data;
  }

  function toast(text) {
    const box = $("toast");
    box.textContent = text;
    box.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { box.hidden = true; }, 3500);
  }
  const fail = (error) => toast(`⚠️ ${error.message || error}`);

  // ------------------------------------------------------------------ chats list
  const persona = (id) => state.config.personas.find((p) => p.id === id);

  function avatar(name, id) {
    return `<span class="avatar" style="background:${COLORS[Math.abs(id) % COLORS.length]}">${esc(name[0] || "?")}</span>`;
  }

  const roleText = (p) => (p.role === "admin" ? t("admin") : p.started ? t("member") : t("newcomer"));

  function renderSide() {
    $("chats-title").textContent = t("choose_persona");
    $("channels-title").textContent = t("channels");
    $("personas").innerHTML = state.config.personas.map((p) => {
      const role = `<span class="badge${p.role === "admin" ? " admin" : ""}">${esc(roleText(p))}</span>`;
      const unread = state.unread[p.id] ? `<span class="unread">${state.unread[p.id]}</span>` : "";
      const active = state.chat && state.chat.kind === "persona" && state.chat.id === p.id ? " active" : "";
      return `<button class="persona${active}" data-persona="${esc(p.key)}" data-testid="persona-${esc(p.key)}">
        ${avatar(p.name, p.id)}<span class="who">${esc(p.name)} ${role}<small>${FLAGS[p.language] || ""} ${esc(p.language)}</small></span>${unread}</button>`;
    }).join("");
    $("channels").innerHTML = state.config.channels.map((c) => {
      const active = state.chat && state.chat.kind === "channel" && state.chat.id === c.id ? " active" : "";
      return `<button class="${active}" data-channel="${c.id}" data-testid="channel-${c.id}">
        ${avatar(c.title, c.id)}<span class="who">${esc(c.title)}<small>${esc(t("channel"))}</small></span></button>`;
    }).join("");
    const hints = t("hints");
    $("hints").innerHTML = Array.isArray(hints) && hints.length
      ? `<b>${esc(t("try_this"))}</b><ol>${hints.map((h) => `<li>${esc(h)}</li>`).join("")}</ol>` : "";
    $("hints").hidden = !(Array.isArray(hints) && hints.length);
  }

  function renderBanner() {
    const links = state.config.links || {};
    $("banner").innerHTML = `${esc(t("banner"))}` +
      (links.dashboard ? ` · <a href="${esc(links.dashboard)}" target="_blank" rel="noopener" data-testid="dashboard-link">${esc(t("dashboard"))}</a>` : "") +
      (links.api_docs ? ` · <a href="${esc(links.api_docs)}" target="_blank" rel="noopener">${esc(t("api_docs"))}</a>` : "");
  }

  function renderTexts() {
    document.documentElement.lang = state.lang;
    $("text").placeholder = t("type_message");
    $("send").title = t("send");
    $("attach-label").title = t("attach");
    $("contact").title = t("share_contact");
    $("dialog-title").textContent = t("open_link_as");
    $("dialog-cancel").textContent = t("cancel");
    renderBanner();
    renderSide();
    if (state.chat) renderMessages();
  }

  // ------------------------------------------------------------------ opening a chat
  function open(kind, id) {
    state.chat = { kind, id };
    state.version = null;
    state.messages = [];
    state.rendered = false;
    state.poll += 1;
    state.pendingPost = null;
    state.unread[id] = 0;
    location.hash = kind === "persona" ? `persona=${persona(id).key}` : `channel=${id}`;
    document.body.classList.add("in-chat");
    window.BozorMiniApp.refreshMenu(kind === "persona" ? id : null);
    const who = kind === "persona" ? persona(id) : state.config.channels.find((c) => c.id === id);
    $("chat-title").textContent = kind === "persona" ? `${state.config.bot.name}` : who.title;
    $("chat-sub").textContent = kind === "persona"
      ? `@${state.config.bot.username} · ${who.name} (${who.language})` : t("channel");
    $("composer").hidden = kind !== "persona";
    $("reply-keyboard").innerHTML = "";
    renderSide();
    renderMessages();
    listen(state.poll);
  }

  async function listen(ticket) {
    while (ticket === state.poll) {
      const chat = state.chat;
      const version = state.version === null ? "" : state.version;
      let data;
      try {
        data = await control("GET", `/chats/${chat.id}/messages?version=${version}&timeout=25`);
      } catch (error) {
        if (ticket !== state.poll) return;
        await new Promise((resolve) => setTimeout(resolve, 1000));
        continue;
      }
      if (ticket !== state.poll) return;
      if (data.version !== state.version) {
        state.version = data.version;
        state.messages = data.messages;
        const last = data.messages.length ? data.messages[data.messages.length - 1].message_id : 0;
        state.seen[chat.id] = last;
        renderMessages();
        if (chat.kind === "persona") refreshKeyboard(chat.id);
      }
    }
  }

  // Other personas' new messages from the bot: a count beside their name.
  async function watchOthers() {
    for (const p of state.config.personas) {
      if (state.chat && state.chat.id === p.id) continue;
      try {
        const data = await control("GET", `/chats/${p.id}/messages?from_bot=1&after_id=${state.seen[p.id] || 0}`);
        state.unread[p.id] = data.messages.length;
      } catch (error) { /* a chat with no messages yet */ }
    }
    renderSide();
  }

  // ------------------------------------------------------------------ messages
  const URL_RE = /(https?:\/\/[^\s<>"']+)/g;

  function linkify(text) {
    return esc(text).replace(URL_RE, (url) => `<a href="${url}">${url}</a>`);
  }

  function formatted(text, entities) {
    if (!text) return "";
    const spans = (entities || []).slice().sort((a, b) => a.offset - b.offset || b.length - a.length);
    let html = "", at = 0;
    for (const e of spans) {
      if (e.offset < at) continue; // nested entities: the outer one wins
      html += linkify(text.slice(at, e.offset));
      const part = text.slice(e.offset, e.offset + e.length);
      const inner = esc(part);
      switch (e.type) {
        case "bold": html += `<b>${inner}</b>`; break;
        case "italic": html += `<i>${inner}</i>`; break;
        case "underline": html += `<u>${inner}</u>`; break;
        case "strikethrough": html += `<s>${inner}</s>`; break;
        case "code": html += `<code>${inner}</code>`; break;
        case "pre": html += `<pre><code>${inner}</code></pre>`; break;
        case "text_link": html += `<a href="${esc(e.url)}">${inner}</a>`; break;
        case "url": html += `<a href="${esc(part)}">${inner}</a>`; break;
        case "bot_command": html += `<a href="#" data-command="${inner}">${inner}</a>`; break;
        default: html += linkify(part);
      }
      at = e.offset + e.length;
    }
    return html + linkify(text.slice(at));
  }

  const fileUrl = (photo) => `/control/files/${encodeURIComponent(photo[photo.length - 1].file_id)}`;
  // With its size known before it loads, a photo takes its place at once: the chat stays at
  // the bottom.
  const sized = (photo) => {
    const p = photo[photo.length - 1];
    return p.width && p.height ? ` width="${p.width}" height="${p.height}"` : "";
  };

  function body(m) {
    let html = "";
    if (m.photo) html += `<img src="${fileUrl(m.photo)}"${sized(m.photo)} alt="${esc(t("photo"))}">`;
    if (m.document) html += `<div class="card">📄 <a href="/control/files/${encodeURIComponent(m.document.file_id)}" download="${esc(m.document.file_name || "file")}">${esc(m.document.file_name || "file")}</a></div>`;
    if (m.contact) html += `<div class="card">👤 ${esc(t("contact"))}: ${esc(m.contact.first_name)} ${esc(m.contact.phone_number)}</div>`;
    if (m.invoice) {
      const i = m.invoice;
      const price = i.currency === "XTR" ? `⭐ ${i.total_amount}` : `${(i.total_amount / 100).toFixed(2)} ${esc(i.currency)}`;
      html += `<div class="card" data-testid="invoice"><b>${esc(i.title)}</b><br>${esc(i.description || "")}<br>${esc(t("invoice"))}: ${price}</div>` +
        `<button class="pay" data-pay="${m.message_id}" data-testid="pay">${esc(t("pay"))} ${price}</button>`;
    }
    if (m.successful_payment) {
      const p = m.successful_payment;
      html += `<div class="card">✅ ${esc(t("paid"))}: ${p.currency === "XTR" ? "⭐ " : ""}${p.total_amount}</div>`;
    }
    html += formatted(m.text || m.caption || "", m.entities || m.caption_entities);
    const rows = (m.reply_markup || {}).inline_keyboard;
    if (rows && rows.length) {
      html += `<div class="inline-kb">${rows.map((row) => `<div class="row">${row.map((b) => {
        const attrs = b.callback_data !== undefined ? `data-callback="${esc(b.callback_data)}"`
          : b.url ? `data-url="${esc(b.url)}"` : b.web_app ? `data-web-app="${esc(b.web_app.url)}"` : "";
        return `<button type="button" ${attrs} data-message="${m.message_id}">${esc(b.text)}${b.url ? " ↗" : ""}</button>`;
      }).join("")}</div>`).join("")}</div>`;
    }
    return html;
  }

  function fromBot(m) {
    return (m.from && m.from.is_bot) || (!m.from && m.sender_chat);
  }

  // The chat follows new messages while the reader is at the bottom (as Telegram does).
  function toBottom() {
    const box = $("messages");
    box.scrollTop = box.scrollHeight;
    state.atBottom = true;
    state.scrolledTo = box.scrollTop; // so the scroll event this causes is not the reader's
  }

  function renderMessages() {
    const box = $("messages");
    const groups = [];
    for (const m of state.messages) {
      const last = groups[groups.length - 1];
      if (m.media_group_id && last && last[0].media_group_id === m.media_group_id) last.push(m);
      else groups.push([m]);
    }
    box.innerHTML = groups.length ? groups.map((group) => {
      const m = group[0];
      const out = !fromBot(m) && state.chat.kind === "persona";
      const time = new Date(m.date * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      const content = group.length > 1
        ? `<div class="album">${group.map((g) => (g.photo ? `<img src="${fileUrl(g.photo)}"${sized(g.photo)} alt="">` : "")).join("")}</div>${formatted(group.find((g) => g.caption)?.caption || "", group.find((g) => g.caption)?.caption_entities)}`
        : body(m);
      return `<div class="msg${out ? " out" : ""}" data-id="${m.message_id}" data-testid="message">${content}<div class="meta">${m.edit_date ? "✎ " : ""}${time}</div></div>`;
    }).join("") : `<div class="empty">${esc(t("no_messages"))}</div>`;
    if (state.pendingPost && showPost(state.pendingPost)) state.pendingPost = null;
    else if (state.atBottom || !state.rendered) toBottom();
    // photos without a known size take their height once loaded
    box.querySelectorAll("img").forEach((img) => img.addEventListener("load", () => {
      if (state.atBottom) toBottom();
    }, { once: true }));
    if (state.version !== null) state.rendered = true; // the chat's messages have arrived
  }

  async function refreshKeyboard(chatId) {
    let data;
    try { data = await control("GET", `/chats/${chatId}/keyboard`); } catch (error) { return; }
    if (!state.chat || state.chat.id !== chatId) return;
    const rows = (data.keyboard && data.keyboard.keyboard) || [];
    $("reply-keyboard").innerHTML = rows.map((row) => `<div class="row">${row.map((b) => {
      const text = typeof b === "string" ? b : b.text;
      if (b.web_app) return `<button type="button" data-web-app="${esc(b.web_app.url)}">${esc(text)}</button>`;
      return `<button type="button" data-reply="${esc(text)}">${esc(text)}</button>`;
    }).join("")}</div>`).join("");
  }

  // ------------------------------------------------------------------ acting
  const me = () => state.chat.id;

  async function sendText(text) {
    const who = persona(me());
    await control("POST", "/messages", { user_id: me(), text });
    if (who && !who.started && text.startsWith("/start")) {
      who.started = true; // a newcomer who started the bot is a member now
      renderSide();
    }
  }

  function deepLink(url) {
    const match = /^https?:\/\/t\.me\/([A-Za-z0-9_]+)\?start=([A-Za-z0-9_-]+)/.exec(url);
    if (match && match[1].toLowerCase() === state.config.bot.username.toLowerCase()) return match[2];
    const share = /^https?:\/\/t\.me\/share\/url\?url=([^&]+)/.exec(url);
    return share ? deepLink(decodeURIComponent(share[1])) : null;
  }

  function openAs(payload) {
    const list = $("dialog-list");
    const others = state.config.personas.filter((p) => !state.chat || p.id !== state.chat.id);
    list.innerHTML = others.map((p) => `<button data-open-as="${p.id}" data-testid="open-as-${esc(p.key)}">${avatar(p.name, p.id)}<span class="who">${esc(p.name)}<small>${esc(roleText(p))}</small></span></button>`).join("");
    $("dialog").hidden = false;
    list.onclick = (event) => {
      const button = event.target.closest("[data-open-as]");
      if (!button) return;
      $("dialog").hidden = true;
      open("persona", Number(button.dataset.openAs));
      sendText(`/start ${payload}`).catch(fail);
    };
  }

  // A channel's post (t.me/<channel>/<id>) opens in the channel view, scrolled to the post.
  function channelPost(url) {
    const match = /^https?:\/\/t\.me\/([A-Za-z0-9_]+)\/(\d+)\/?$/.exec(url);
    if (!match || !state.config.channels.length) return null;
    const channel = state.config.channels.find((c) => (c.username || "").toLowerCase() === match[1].toLowerCase())
      || state.config.channels[0];
    return { channel: channel.id, post: Number(match[2]) };
  }

  function showPost(post) {
    const box = $("messages");
    const found = box.querySelector(`[data-id="${post}"]`);
    if (!found) return false;
    found.scrollIntoView({ block: "center" });
    state.atBottom = false; // stay on the post when photos load
    found.classList.add("highlight");
    setTimeout(() => found.classList.remove("highlight"), 2000);
    return true;
  }

  function openUrl(url) {
    const payload = deepLink(url);
    const post = channelPost(url);
    if (payload) openAs(payload);
    else if (post) {
      open("channel", post.channel);
      state.pendingPost = post.post;
    } else if (/^https?:\/\/t\.me\/([A-Za-z0-9_]+)\/?$/.test(url) && state.config.channels.length) {
      open("channel", state.config.channels[0].id);
    } else window.open(url, "_blank", "noopener");
  }

  async function press(messageId, data) {
    const pressed = await control("POST", "/callbacks", { user_id: me(), message_id: messageId, callback_data: data, chat_id: state.chat.id });
    const answer = await control("GET", `/callbacks/${pressed.id}?timeout=5`);
    if (answer.answer && answer.answer.text) toast(answer.answer.text);
  }

  async function pay(messageId) {
    const result = await control("POST", "/payments", { user_id: me(), message_id: messageId });
    if (!result.ok) toast(`⚠️ ${result.error_message || "payment refused"}`);
  }

  const readAsBase64 = (file) => new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1]);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });

  async function sendPhotos(files) {
    const photos = await Promise.all(Array.from(files).slice(0, 10).map(readAsBase64));
    const caption = $("text").value.trim() || undefined;
    $("text").value = "";
    if (photos.length === 1) await control("POST", "/messages", { user_id: me(), photo: photos[0], caption });
    else await control("POST", "/albums", { user_id: me(), photos, caption });
  }

  function wire() {
    const box = $("messages");
    box.addEventListener("scroll", () => {
      if (box.scrollTop === state.scrolledTo) return;
      state.scrolledTo = null;
      state.atBottom = box.scrollTop + box.clientHeight >= box.scrollHeight - 40;
    });
    // the reply keyboard or the window changing size must not leave the reader mid-chat
    new ResizeObserver(() => { if (state.atBottom) toBottom(); }).observe(box);
    $("personas").onclick = (event) => {
      const button = event.target.closest("[data-persona]");
      if (button) open("persona", state.config.personas.find((p) => p.key === button.dataset.persona).id);
    };
    $("channels").onclick = (event) => {
      const button = event.target.closest("[data-channel]");
      if (button) open("channel", Number(button.dataset.channel));
    };
    $("back").onclick = () => document.body.classList.remove("in-chat");
    $("composer").onsubmit = (event) => {
      event.preventDefault();
      const text = $("text").value.trim();
      if (!text || !state.chat || state.chat.kind !== "persona") return;
      $("text").value = "";
      sendText(text).catch(fail);
    };
    $("attach").onchange = (event) => {
      if (event.target.files.length) sendPhotos(event.target.files).catch(fail);
      event.target.value = "";
    };
    $("contact").onclick = () => control("POST", "/messages", { user_id: me(), contact: { own: true } }).catch(fail);
    $("reply-keyboard").onclick = (event) => {
      const app = event.target.closest("[data-web-app]");
      if (app) { window.BozorMiniApp.open(app.dataset.webApp, me()).catch(fail); return; }
      const button = event.target.closest("[data-reply]");
      if (button) control("POST", "/reply-buttons", { user_id: me(), text: button.dataset.reply }).catch(fail);
    };
    $("messages").onclick = (event) => {
      const target = event.target.closest("button, a");
      if (!target) return;
      if (target.dataset.callback !== undefined) press(Number(target.dataset.message), target.dataset.callback).catch(fail);
      else if (target.dataset.url) openUrl(target.dataset.url);
      else if (target.dataset.webApp) window.BozorMiniApp.open(target.dataset.webApp, me()).catch(fail);
      else if (target.dataset.pay) pay(Number(target.dataset.pay)).catch(fail);
      else if (target.dataset.command) { event.preventDefault(); if (state.chat.kind === "persona") sendText(target.dataset.command).catch(fail); }
      else if (target.tagName === "A" && !target.hasAttribute("download")) { event.preventDefault(); openUrl(target.href); }
    };
    $("dialog-cancel").onclick = () => { $("dialog").hidden = true; };
    $("menu-button").onclick = (event) => window.BozorMiniApp.open(event.target.dataset.webApp, me()).catch(fail);
    $("ui-language").onchange = (event) => {
      state.lang = event.target.value;
      localStorage.setItem("bozor-demo-language", state.lang);
      renderTexts();
    };
  }

  async function main() {
    const response = await fetch("/chat/config.json");
    const config = await response.json();
    if (!response.ok) {
      document.body.innerHTML = `<p class="empty">${esc(config.error)}</p>`;
      return;
    }
    state.config = config;
    // What the Mini App panel (miniapp-panel.js) needs from the chat.
    window.BozorChat = { token: () => config.token, t, botName: () => config.bot.name, openUrl };
    const stored = localStorage.getItem("bozor-demo-language");
    const browser = (navigator.language || "en").slice(0, 2);
    state.lang = config.texts[stored] ? stored : config.texts[browser] ? browser : "en";
    $("ui-language").value = state.lang;
    wire();
    renderTexts();
    const hash = new URLSearchParams(location.hash.slice(1));
    const chosen = config.personas.find((p) => p.key === hash.get("persona"));
    const channel = config.channels.find((c) => String(c.id) === hash.get("channel"));
    if (chosen) open("persona", chosen.id);
    else if (channel) open("channel", channel.id);
    else if (window.innerWidth > 700 && config.personas.length) open("persona", config.personas[0].id);
    for (const p of config.personas) {
      if (state.seen[p.id] === undefined) {
        const data = await control("GET", `/chats/${p.id}/messages?from_bot=1`).catch(() => ({ messages: [] }));
        const last = data.messages[data.messages.length - 1];
        state.seen[p.id] = last ? last.message_id : 0;
      }
    }
    setInterval(watchOthers, 2500);
  }

  main().catch(fail);
})();

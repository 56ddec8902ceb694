"use strict";
// The web chat's Telegram client side of Mini Apps: the chat's menu button and web_app buttons
// open the app in a phone-sized panel, launched through the emulator with initData signed for the
// person one is playing; the panel answers the app's events (Telegram's web-events protocol) as
// Telegram's web client does: BackButton, MainButton, theme, viewport, openInvoice (paid through
// the emulator, so the bot gets pre_checkout_query and successful_payment as for any invoice).
(function () {
  const THEMES = {
    light: {
      bg_color: "#ffffff", text_color: "#000000", hint_color: "#707579", link_color: "#1f62a5",
      button_color: "#1f62a5", button_text_color: "#ffffff", secondary_bg_color: "#f1f3f5",
    },
    dark: {
      bg_color: "#17212b", text_color: "#f5f5f5", hint_color: "#708499", link_color: "#7cbcf5",
      button_color: "#2f6ea5", button_text_color: "#ffffff", secondary_bg_color: "#232e3c",
    },
  };
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => (
    { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  const panel = { user: null, frame: null, theme: "light", main: null, invoice: null };
  const chat = () => window.BozorChat;
  const t = (key) => chat().t(key);

  async function control(method, path, body) {
    const response = await fetch(`/control/bots/${chat().token()}${path}`, {
      method, headers: body ? { "content-type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    const data = await response.json();
    if (!response.ok) throw new Error(data.error || response.statusText);
    return data;
  }

  function build() {
    if (document.getElementById("miniapp")) return;
    const box = document.createElement("div");
    box.id = "miniapp";
    box.className = "miniapp";
    box.hidden = true;
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-modal", "true");
    box.dataset.testid = "miniapp";
    box.innerHTML = `<div class="miniapp-phone">
      <header class="miniapp-head">
        <button type="button" class="miniapp-back" data-testid="miniapp-back" hidden></button>
        <b class="miniapp-title" id="miniapp-title"></b>
        <select class="miniapp-theme" data-testid="miniapp-theme"><option value="light"></option><option value="dark"></option></select>
        <button type="button" class="miniapp-close" data-testid="miniapp-close">✕</button>
      </header>
      <iframe class="miniapp-frame" data-testid="miniapp-frame"></iframe>
      <button type="button" class="miniapp-main" data-testid="miniapp-main" hidden></button>
      <div class="miniapp-invoice" data-testid="miniapp-invoice" hidden></div>
    </div>`;
    document.body.appendChild(box);
    panel.frame = box.querySelector("iframe");
    box.querySelector(".miniapp-close").onclick = close;
    box.querySelector(".miniapp-back").onclick = () => post("back_button_pressed", {});
    box.querySelector(".miniapp-main").onclick = () => post("main_button_pressed", {});
    box.querySelector(".miniapp-theme").onchange = (event) => {
      panel.theme = event.target.value;
      post("theme_changed", { theme_params: THEMES[panel.theme] });
      paint();
    };
    window.addEventListener("message", receive);
  }

  function texts() {
    const box = document.getElementById("miniapp");
    box.setAttribute("aria-label", t("app_title"));
    box.querySelector(".miniapp-back").textContent = `‹ ${t("app_back")}`;
    box.querySelector(".miniapp-close").setAttribute("aria-label", t("app_close"));
    const theme = box.querySelector(".miniapp-theme");
    theme.setAttribute("aria-label", t("app_theme"));
    theme.options[0].textContent = t("app_light");
    theme.options[1].textContent = t("app_dark");
    box.querySelector("iframe").title = t("app_title");
  }

  function paint() {
    const box = document.getElementById("miniapp");
    box.dataset.theme = panel.theme;
    box.querySelector(".miniapp-phone").style.background = THEMES[panel.theme].bg_color;
  }

  function post(eventType, eventData) {
    if (panel.frame && panel.frame.contentWindow) {
      panel.frame.contentWindow.postMessage(JSON.stringify({ eventType, eventData }), "*");
    }
  }

  async function open(url, userId) {
    if (!userId) return;
    build();
    texts();
    const launched = await control("POST", "/web-apps", { user_id: userId, url, theme_params: THEMES[panel.theme], platform: "web" });
    panel.user = userId;
    const box = document.getElementById("miniapp");
    box.querySelector(".miniapp-main").hidden = true;
    box.querySelector(".miniapp-back").hidden = true;
    box.querySelector(".miniapp-invoice").hidden = true;
    box.querySelector(".miniapp-theme").value = panel.theme;
    box.querySelector("#miniapp-title").textContent = chat().botName();
    paint();
    box.hidden = false;
    panel.frame.src = launched.url;
  }

  function close() {
    const box = document.getElementById("miniapp");
    if (!box) return;
    box.hidden = true;
    panel.frame.src = "about:blank";
  }

  async function showInvoice(slug) {
    const box = document.querySelector(".miniapp-invoice");
    let invoice;
    try { invoice = await control("GET", `/invoice-links/${encodeURIComponent(slug)}`); } catch (e) {
      post("invoice_closed", { slug, status: "failed" });
      return;
    }
    const amount = invoice.currency === "XTR" ? `⭐ ${invoice.total_amount}` : `${invoice.total_amount} ${esc(invoice.currency)}`;
    box.innerHTML = `<b>${esc(invoice.title)}</b><p>${esc(invoice.description)}</p>
      <button type="button" class="pay" data-testid="miniapp-pay">${esc(t("pay"))} ${amount}</button>
      <button type="button" class="plain" data-testid="miniapp-pay-cancel">${esc(t("cancel"))}</button>`;
    box.hidden = false;
    const finish = (status) => { box.hidden = true; post("invoice_closed", { slug, status }); };
    box.querySelector(".plain").onclick = () => finish("cancelled");
    box.querySelector(".pay").onclick = async () => {
      box.querySelector(".pay").disabled = true;
      try {
        const paid = await control("POST", "/payments", { user_id: panel.user, link: `https://t.me/$${slug}` });
        finish(paid.ok ? "paid" : "failed");
      } catch (e) {
        finish("failed");
      }
    };
  }

  function receive(event) {
    if (!panel.frame || event.source !== panel.frame.contentWindow) return;
    let message;
    try { message = typeof event.data === "string" ? JSON.parse(event.data) : event.data; } catch (e) { return; }
    const data = message.eventData || {};
    const box = document.getElementById("miniapp");
    switch (message.eventType) {
      case "web_app_setup_back_button":
        box.querySelector(".miniapp-back").hidden = !data.is_visible;
        break;
      case "web_app_setup_main_button": {
        const main = box.querySelector(".miniapp-main");
        main.hidden = !data.is_visible;
        main.disabled = !data.is_active || !!data.is_progress_visible;
        main.textContent = data.is_progress_visible ? "…" : data.text || "";
        main.style.background = data.color || "";
        main.style.color = data.text_color || "";
        break;
      }
      case "web_app_request_theme":
        post("theme_changed", { theme_params: THEMES[panel.theme] });
        break;
      case "web_app_request_viewport":
        post("viewport_changed", { height: panel.frame.clientHeight, is_expanded: true, is_state_stable: true });
        break;
      case "web_app_open_invoice":
        showInvoice(String(data.slug || ""));
        break;
      case "web_app_open_tg_link":
        close();
        chat().openUrl(`https://t.me${data.path_full || ""}`);
        break;
      case "web_app_close":
        close();
        break;
      default:
        break;
    }
  }

  // The chat's menu button: the bot's web_app menu button for this chat, if it set one.
  async function refreshMenu(userId) {
    const slot = document.getElementById("menu-button");
    if (!slot) return;
    slot.hidden = true;
    if (!userId) return;
    let settings;
    try { settings = await control("GET", "/settings"); } catch (e) { return; }
    const buttons = settings.menu_buttons || {};
    const button = buttons[String(userId)] || buttons["0"];
    if (!button || button.type !== "web_app") return;
    slot.textContent = button.text;
    slot.dataset.webApp = button.web_app.url;
    slot.hidden = false;
  }

  window.BozorMiniApp = { open, close, refreshMenu };
})();

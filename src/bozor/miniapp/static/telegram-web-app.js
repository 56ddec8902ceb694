"use strict";
// Telegram's Mini App bridge (window.Telegram.WebApp), the part Bozor's pages use, served from
// the package so the Mini App loads offline and without a third-party script. It speaks
// Telegram's own protocol (https://core.telegram.org/api/web-events): launch parameters in the
// URL fragment (tgWebAppData, tgWebAppThemeParams, ...), events to the client through
// TelegramWebviewProxy.postEvent (mobile), window.external.notify (desktop) or postMessage to the
// parent frame (web clients, and the demo's panel), events back through
// Telegram.WebView.receiveEvent or a message from the parent frame.
(function () {
  const hash = new URLSearchParams(location.hash.slice(1));
  const KEY = "__telegram__initParams";
  let params = {};
  try { params = JSON.parse(sessionStorage.getItem(KEY) || "{}"); } catch (e) { params = {}; }
  for (const [key, value] of hash) params[key] = value;
  try { sessionStorage.setItem(KEY, JSON.stringify(params)); } catch (e) { /* private mode */ }

  const handlers = {};
  const inFrame = window.parent !== window;

  function postEvent(eventType, eventData) {
    const data = eventData || {};
    if (window.TelegramWebviewProxy) {
      window.TelegramWebviewProxy.postEvent(eventType, JSON.stringify(data));
    } else if (window.external && "notify" in window.external) {
      window.external.notify(JSON.stringify({ eventType, eventData: data }));
    } else if (inFrame) {
      window.parent.postMessage(JSON.stringify({ eventType, eventData: data }), "*");
    }
  }

  function receiveEvent(eventType, eventData) {
    (handlers[eventType] || []).slice().forEach((handler) => {
      try { handler(eventData); } catch (e) { console.error(e); }
    });
  }
  const on = (type, handler) => { (handlers[type] = handlers[type] || []).push(handler); };
  const off = (type, handler) => {
    handlers[type] = (handlers[type] || []).filter((h) => h !== handler);
  };

  window.addEventListener("message", (event) => {
    if (event.source !== window.parent) return;
    let message;
    try { message = typeof event.data === "string" ? JSON.parse(event.data) : event.data; } catch (e) { return; }
    if (message && message.eventType) receiveEvent(message.eventType, message.eventData);
  });

  const initData = params.tgWebAppData || "";
  const initDataUnsafe = {};
  for (const [key, value] of new URLSearchParams(initData)) {
    try { initDataUnsafe[key] = key === "user" || key === "receiver" || key === "chat" ? JSON.parse(value) : value; } catch (e) { initDataUnsafe[key] = value; }
  }
  let themeParams = {};
  try { themeParams = JSON.parse(params.tgWebAppThemeParams || "{}"); } catch (e) { themeParams = {}; }

  const root = document.documentElement.style;
  const luminance = (hex) => {
    const m = /^#?([0-9a-f]{6})$/i.exec(hex || "");
    if (!m) return 1;
    const n = parseInt(m[1], 16);
    return (0.2126 * (n >> 16) + 0.7152 * ((n >> 8) & 255) + 0.0722 * (n & 255)) / 255;
  };
  const app = {
    initData, initDataUnsafe, version: params.tgWebAppVersion || "6.0",
    platform: params.tgWebAppPlatform || "unknown", themeParams, colorScheme: "light",
    viewportHeight: window.innerHeight, viewportStableHeight: window.innerHeight, isExpanded: true,
  };

  function applyTheme(theme) {
    app.themeParams = theme || {};
    for (const [key, value] of Object.entries(app.themeParams)) {
      root.setProperty(`--tg-theme-${key.replace(/_/g, "-")}`, value);
    }
    app.colorScheme = luminance(app.themeParams.bg_color || "#ffffff") < 0.5 ? "dark" : "light";
    root.setProperty("--tg-color-scheme", app.colorScheme);
  }
  function applyViewport(data) {
    app.viewportHeight = data && data.height ? data.height : window.innerHeight;
    if (!data || data.is_state_stable) app.viewportStableHeight = app.viewportHeight;
    app.isExpanded = data ? !!data.is_expanded : true;
    root.setProperty("--tg-viewport-height", `${app.viewportHeight}px`);
    root.setProperty("--tg-viewport-stable-height", `${app.viewportStableHeight}px`);
  }
  applyTheme(themeParams);
  applyViewport(null);
  on("theme_changed", (data) => { applyTheme(data && data.theme_params); emit("themeChanged"); });
  on("viewport_changed", (data) => { applyViewport(data); emit("viewportChanged", { isStateStable: !!(data && data.is_state_stable) }); });
  if (!inFrame && !window.TelegramWebviewProxy) window.addEventListener("resize", () => applyViewport(null));

  const listeners = {};
  function emit(name, data) {
    (listeners[name] || []).slice().forEach((cb) => { try { cb.call(app, data); } catch (e) { console.error(e); } });
  }
  app.onEvent = (name, cb) => { (listeners[name] = listeners[name] || []).push(cb); };
  app.offEvent = (name, cb) => { listeners[name] = (listeners[name] || []).filter((c) => c !== cb); };

  function button(kind) {
    const state = { isVisible: false, isActive: true, isProgressVisible: false, text: "", color: "", textColor: "" };
    const self = Object.assign(state, {
      setText(text) { state.text = String(text); update(); return self; },
      show() { state.isVisible = true; update(); return self; },
      hide() { state.isVisible = false; update(); return self; },
      enable() { state.isActive = true; update(); return self; },
      disable() { state.isActive = false; update(); return self; },
      showProgress() { state.isProgressVisible = true; update(); return self; },
      hideProgress() { state.isProgressVisible = false; update(); return self; },
      setParams(p) {
        if ("text" in p) state.text = String(p.text);
        if ("is_visible" in p) state.isVisible = !!p.is_visible;
        if ("is_active" in p) state.isActive = !!p.is_active;
        update(); return self;
      },
      onClick(cb) { app.onEvent(`${kind}ButtonClicked`, cb); return self; },
      offClick(cb) { app.offEvent(`${kind}ButtonClicked`, cb); return self; },
    });
    function update() {
      if (kind === "back") {
        postEvent("web_app_setup_back_button", { is_visible: state.isVisible });
      } else {
        postEvent("web_app_setup_main_button", {
          is_visible: state.isVisible && !!state.text, is_active: state.isActive,
          is_progress_visible: state.isProgressVisible, text: state.text,
          color: state.color || app.themeParams.button_color || "#2481cc",
          text_color: state.textColor || app.themeParams.button_text_color || "#ffffff",
        });
      }
    }
    return self;
  }
  app.BackButton = button("back");
  app.MainButton = button("main");
  on("back_button_pressed", () => emit("backButtonClicked"));
  on("main_button_pressed", () => emit("mainButtonClicked"));

  const invoices = {};
  app.openInvoice = (url, callback) => {
    const match = /^https:\/\/t\.me\/(?:\$|invoice\/)([\w-]+)$/.exec(url || "");
    if (!match) throw new Error("WebAppInvoiceUrlInvalid");
    const slug = match[1];
    invoices[slug] = callback;
    postEvent("web_app_open_invoice", { slug });
  };
  on("invoice_closed", (data) => {
    const callback = invoices[data.slug];
    delete invoices[data.slug];
    emit("invoiceClosed", { url: `https://t.me/$${data.slug}`, status: data.status });
    if (callback) callback(data.status);
  });
  app.openTelegramLink = (url) => {
    const link = new URL(url);
    postEvent("web_app_open_tg_link", { path_full: link.pathname + link.search });
    if (!inFrame && !window.TelegramWebviewProxy) location.href = url;
  };
  app.openLink = (url) => { postEvent("web_app_open_link", { url }); if (!inFrame) window.open(url, "_blank"); };
  app.ready = () => postEvent("web_app_ready");
  app.expand = () => postEvent("web_app_expand");
  app.close = () => postEvent("web_app_close");
  app.HapticFeedback = {
    notificationOccurred(type) { postEvent("web_app_trigger_haptic_feedback", { type: "notification", notification_type: type }); },
  };

  window.Telegram = window.Telegram || {};
  window.Telegram.WebView = { initParams: params, isIframe: inFrame, postEvent, receiveEvent, onEvent: on, offEvent: off };
  window.Telegram.WebApp = app;
  if (inFrame) postEvent("iframe_ready", { reload_supported: false });
  postEvent("web_app_request_theme");
  postEvent("web_app_request_viewport");
})();

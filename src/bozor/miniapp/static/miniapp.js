"use strict";
// The Mini App's navigation: every view is an HTML fragment the server renders for the user in
// the signed initData, fetched from /app/api/<path> with the initData in a header. Links and
// forms inside a view stay in the app; Telegram's BackButton and MainButton follow the view.
(function () {
  const tg = window.Telegram.WebApp;
  const view = document.getElementById("view");
  const shell = JSON.parse(document.getElementById("shell-texts").textContent);
  const BASE = "/app";
  const HEADER = "X-Telegram-Init-Data";
  let depth = 0; // views pushed since the app opened: BackButton goes back through them
  let mainAction = null;

  const lang = () => {
    const code = ((tg.initDataUnsafe.user || {}).language_code || navigator.language || "en").slice(0, 2);
    return shell[code] ? code : "en";
  };
  const say = (key) => shell[lang()][key];
  const scheme = () => { document.documentElement.dataset.scheme = tg.colorScheme; };

  function notice(key) {
    view.innerHTML = "";
    const box = document.createElement("p");
    box.className = "notice";
    box.setAttribute("role", "alert");
    box.dataset.testid = `notice-${key}`;
    box.textContent = say(key);
    view.appendChild(box);
    tg.MainButton.hide();
  }

  async function request(path, init) {
    const options = init || {};
    options.headers = Object.assign({ [HEADER]: tg.initData }, options.headers || {});
    return fetch(`${BASE}/api${path}`, options);
  }

  async function show(response, path) {
    if (response.status === 401) return notice("refused");
    if (!response.ok && !(response.headers.get("content-type") || "").startsWith("text/html")) {
      return notice("failed");
    }
    const type = response.headers.get("content-type") || "";
    if (type.startsWith("application/json")) return act(await response.json());
    view.innerHTML = await response.text();
    const page = view.querySelector("[data-page]");
    if (!page) return notice("failed");
    document.title = page.dataset.title || "Bozor";
    document.documentElement.lang = page.dataset.lang || "en";
    if (path !== undefined && page.dataset.path) history.replaceState({ depth }, "", BASE + page.dataset.path);
    setUpButtons(page);
    const heading = page.querySelector("h1");
    if (heading) { heading.tabIndex = -1; heading.focus({ preventScroll: true }); }
    window.scrollTo(0, 0);
    if (page.dataset.module) {
      const module = await import(`${BASE}/static/${page.dataset.module}.js`);
      module.mount(page, { request, go, say });
    }
    return undefined;
  }

  function setUpButtons(page) {
    if (depth > 0 || page.dataset.back) tg.BackButton.show(); else tg.BackButton.hide();
    mainAction = null;
    if (page.dataset.mainText) {
      mainAction = page.dataset.mainForm
        ? () => { const form = document.getElementById(page.dataset.mainForm); if (form) form.requestSubmit(); }
        : () => go(page.dataset.mainHref);
      tg.MainButton.setText(page.dataset.mainText).enable().show();
    } else {
      tg.MainButton.hide();
    }
  }

  async function load(path) {
    try {
      await show(await request(path), path);
    } catch (e) {
      console.error(e);
      notice("failed");
    }
  }

  async function go(path, replace) {
    if (!path) return;
    if (replace) history.replaceState({ depth }, "", BASE + path);
    else { depth += 1; history.pushState({ depth }, "", BASE + path); }
    await load(path);
  }

  // What a form's answer may ask for besides a new view: an invoice to open, a view to go to.
  async function act(answer) {
    if (answer.invoice_link) {
      tg.MainButton.hideProgress();
      tg.openInvoice(answer.invoice_link, (status) => {
        view.dataset.invoice = status;
        if (status === "paid" && answer.paid) go(answer.paid, true);
        else if (answer.closed) go(answer.closed, true);
      });
    } else if (answer.go) {
      await go(answer.go, true);
    } else if (answer.link) {
      tg.openTelegramLink(answer.link);
    }
  }

  const current = () => location.pathname.slice(BASE.length) + location.search || "/";

  view.addEventListener("click", (event) => {
    const link = event.target.closest("a[href]");
    if (!link || link.target || !link.getAttribute("href").startsWith(`${BASE}/`)) return;
    if (link.dataset.external !== undefined) return;
    event.preventDefault();
    go(link.getAttribute("href").slice(BASE.length));
  });

  view.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!form.matches("form[data-app]")) return;
    event.preventDefault();
    const action = form.getAttribute("action").slice(BASE.length + "/api".length);
    const body = new URLSearchParams(new FormData(form, event.submitter));
    tg.MainButton.showProgress();
    const buttons = form.querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    try {
      const response = await request(action, {
        method: "POST", body, headers: { "content-type": "application/x-www-form-urlencoded" },
      });
      await show(response);
    } catch (e) {
      console.error(e);
      notice("failed");
    } finally {
      tg.MainButton.hideProgress();
      buttons.forEach((b) => { b.disabled = false; });
    }
  });

  window.addEventListener("popstate", (event) => {
    depth = (event.state && event.state.depth) || 0;
    load(current());
  });
  tg.BackButton.onClick(() => {
    const page = view.querySelector("[data-page]");
    if (depth > 0) history.back();
    else go((page && page.dataset.back) || "/", true);
  });
  tg.MainButton.onClick(() => { if (mainAction) mainAction(); });
  tg.onEvent("themeChanged", scheme);

  scheme();
  tg.ready();
  tg.expand();
  if (!tg.initData) notice("outside");
  else { history.replaceState({ depth }, "", location.pathname + location.search); load(current()); }
})();

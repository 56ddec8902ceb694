"""The Telegram Mini App, served under /app/ by the HTTP app.

How it works: `GET /app/<path>` is one static shell page (tiny, cached, no user data); its
script (static/miniapp.js) reads Telegram's signed `initData` (static/telegram-web-app.js, our
own copy of Telegram's bridge) and fetches the view `GET /app/api/<path>` with the initData in
the `X-Telegram-Init-Data` header. Every /app/api request is checked (web.current_viewer:
HMAC with the bot token, `auth_date` younger than MINIAPP_INIT_DATA_MAX_AGE); a missing, forged
or stale one gets a bare 401. Views are HTML fragments rendered with Jinja in the viewer's
language (their chosen language in the bot, else Telegram's).

Adding a feature's pages (the convention):

1. Write `bozor/<feature>/miniapp.py` with `create_miniapp_router(settings) -> APIRouter`.
   Make it with `web.view_router("/<feature>")` (its domain errors become a translated
   error view, in one place); `GET /<feature>` is the feature's first view (the home
   view links to it as a tile with the texts `miniapp.<feature>.icon`, `.title`, `.tagline`).
   The app serves them as `/app/<feature>/...` (views at `/app/api/<feature>/...`).
2. Each route takes `viewer: ViewerDep` (the verified user; `viewer.user` is their row, stored
   on first contact) and `session: SessionDep`, calls the feature's SERVICE functions (never
   its own queries for rules), commits what it changed, and answers
   `render(viewer, "<feature>/<view>.html", path=..., ...)` or, for an action, `answer(...)`.
3. Templates live in the feature's own folder, named by its manifest
   (`Feature.miniapp_templates`, e.g. `<feature>/miniapp_templates/`); render() names them
   "<feature>/<file>" and they extend the core's `page.html`, whose context
   variables drive Telegram's buttons: `back` (where BackButton leads when the view was opened
   directly), `main_text` + `main_form` (MainButton submits that form) or `main_href`,
   `module` (a script in miniapp/static mounted on the view: `export function mount(page,
   app)`; add it to app.STATIC). Links to `/app/...` and `<form data-app method=post
   action="/app/api/...">` stay inside the app.
4. Texts go in the feature's `locales/miniapp.<language>.toml` (en, ru, uz) under
   `[miniapp.<feature>]`.
5. Name the factory in the feature's manifest (`Feature.miniapp`, in `<feature>/feature.py`)
   and add a test in tests/miniapp/.
"""

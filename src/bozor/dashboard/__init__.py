"""The admins' web dashboard under /dashboard: server-rendered pages over the feature services.

`app.include_dashboard()` mounts it on the HTTP app; each feature contributes its pages as a
`Section` (see `registry.py`).
"""

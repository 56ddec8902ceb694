"""What routes are given: the process's Runtime and its Settings (`RuntimeDep`, `SettingsDep`).

`runtime_of` is the one place that reads `app.state.runtime` (create_app puts it there).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from bozor.process import Runtime
from bozor.settings import Settings


def runtime_of(request: Request) -> Runtime:
    """The Runtime of the app serving this request."""
    runtime: Runtime = request.app.state.runtime
    return runtime


def settings_of(request: Request) -> Settings:
    """The settings of the app serving this request."""
    return runtime_of(request).settings


RuntimeDep = Annotated[Runtime, Depends(runtime_of)]
SettingsDep = Annotated[Settings, Depends(settings_of)]

"""405 answered as HTTP means it: for the resource a path names, with every method it allows.

Starlette picks the first route whose path matches and whose method fits. Two things follow
that a client sees as wrong:
- `Allow` on a 405 lists only the methods of the first route with that path (`Allow: POST` on
  /campaigns, which also has GET);
- a method a path does not allow can still match a *less specific* route with that method:
  GET /referrals/export (POST only) runs GET /referrals/{referral_id} and answers 422 or 404.

The resource a path names is its most specific route template: the one with the fewest path
parameters among those that match (a literal segment beats a parameter). `MethodGuard` answers
405 for a method that resource does not allow, before any route runs; it only looks at the few
templates that some less specific route overlaps, so most requests cost one dictionary
look-up. `Allow` on every 405 is the union of the resource's methods.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from bozor.api import problems

_PARAMETER = re.compile(r"{([^}:]+)(?::([^}]+))?}")


@dataclass(frozen=True, slots=True)
class Resource:
    template: str
    regex: re.Pattern[str]
    methods: frozenset[str]
    parameters: int  # how unspecific it is

    @property
    def allow(self) -> str:
        return ", ".join(sorted(self.methods))


class Resources:
    """Every path template of an app, with the methods its routes allow together."""

    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        methods: dict[str, set[str]] = {}
        regexes: dict[str, re.Pattern[str]] = {}
        for route in iter_route_contexts(routes):
            template, route_methods = route.path_format, route.methods
            regex = getattr(route, "path_regex", None)
            if template is None or route_methods is None or regex is None:
                continue  # websockets, mounts: not ours to judge
            methods.setdefault(template, set()).update(route_methods)
            regexes.setdefault(template, regex)
        self.all = sorted(
            (
                Resource(t, regexes[t], frozenset(m), len(_PARAMETER.findall(t)))
                for t, m in methods.items()
            ),
            key=lambda resource: resource.parameters,
        )
        # The templates a less specific template with other methods also matches: only for
        # paths of these can Starlette run a route of the wrong resource.
        self.shadowed = [
            resource
            for resource in self.all
            if any(
                other.parameters > resource.parameters
                and not resource.methods <= other.methods
                and _overlap(resource.template, other)
                for other in self.all
            )
        ]

    def of(self, path: str) -> Resource | None:
        """The resource `path` names: its most specific matching template."""
        return next((r for r in self.all if r.regex.match(path)), None)

    def refused(self, method: str, path: str) -> Resource | None:
        """The shadowed resource `path` names if it does not allow `method`."""
        for resource in self.shadowed:
            if resource.regex.match(path):
                if method in resource.methods or self.of(path) is not resource:
                    return None
                return resource
        return None


def _overlap(template: str, other: Resource) -> bool:
    """Whether some path matches both `template` and `other` (each parameter of `template`
    stood for by a value its own convertor accepts: digits for ints, a word otherwise)."""

    def example(match: re.Match[str]) -> str:
        return "1" if match.group(2) in ("int", "float") else "x"

    return other.regex.match(_PARAMETER.sub(example, template)) is not None


def method_not_allowed(resource: Resource) -> JSONResponse:
    return problems.problem(
        405,
        f"This path allows {resource.allow}.",
        code="request.method_not_allowed",
        headers={"Allow": resource.allow},
    )


def resources_of(app: FastAPI) -> Resources:
    """The app's resources, built on first use (every route is in by the first request)."""
    resources: Resources | None = getattr(app.state, "resources", None)
    if resources is None:
        resources = app.state.resources = Resources(app.routes)
    return resources


class MethodGuard:
    """ASGI middleware: 405 for a method the path's resource does not allow (see above)."""

    def __init__(self, app: ASGIApp, owner: FastAPI) -> None:
        self.app = app
        self.owner = owner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            resource = resources_of(self.owner).refused(scope["method"], scope["path"])
            if resource is not None:
                await method_not_allowed(resource)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def install(app: FastAPI) -> None:
    """The guard above, and `Allow` on every other 405 computed from the app's routes."""
    app.add_middleware(MethodGuard, owner=app)

    async def not_allowed(request: Request, exc: Any) -> JSONResponse:
        resource = resources_of(app).of(request.url.path)
        if resource is None:  # Starlette found a route with this path, so cannot happen
            return problems.problem(405, "Method Not Allowed", headers=exc.headers)
        return method_not_allowed(resource)

    app.add_exception_handler(405, not_allowed)

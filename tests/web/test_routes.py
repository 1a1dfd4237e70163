"""Every route is behind authentication, and no page loads anything from outside Interdict."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount

from tests.conftest import World
from tests.web.test_pages import login

# Reachable without logging in, each for a stated reason.
PUBLIC = {
    ("GET", "/healthz"),  # load-balancer probe; says only "ok"
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/lang/{lang}"),  # display-language preference cookie, so the login page can be read in Vietnamese
}
PUBLIC_MOUNTS = {"/static", "/api/docs/assets"}  # CSS, JS and the Swagger UI bundle: no data


def _path(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000000", template)


def all_routes(routes: list[Any]) -> Iterator[tuple[str, set[str], Any]]:
    """(path, methods, route) for every route, including those of included routers (FastAPI >= 0.16x)."""
    for route in routes:
        if hasattr(route, "effective_route_contexts"):
            for ctx in route.effective_route_contexts():
                original = ctx.original_route
                yield ctx.path or original.path, set(getattr(original, "methods", set())), original
        else:
            yield route.path, set(getattr(route, "methods", None) or set()), route


def test_every_route_requires_authentication(client: TestClient, world: World) -> None:
    seen = 0
    for path, methods, route in all_routes(client.app.routes):  # type: ignore[attr-defined]
        if isinstance(route, Mount):
            assert path in PUBLIC_MOUNTS, path
            continue
        assert isinstance(route, APIRoute), route
        for method in sorted(methods - {"HEAD", "OPTIONS"}):
            if (method, path) in PUBLIC:
                continue
            seen += 1
            r = client.request(method, _path(path), follow_redirects=False)
            if path.startswith("/api/") and path != "/api/docs":
                assert r.status_code == 401, (method, path, r.status_code)
            else:
                assert r.status_code == 303 and r.headers["location"].startswith("/login"), (
                    method,
                    path,
                    r.status_code,
                )
    assert seen >= 40


def test_pages_load_nothing_from_outside(client: TestClient, world: World) -> None:
    login(client)
    for path in ["/login", "/dashboard", "/incidents", "/incidents/new", "/account/tokens", "/api/docs"]:
        html = client.get(path).text
        for attr in re.findall(r'(?:src|href)="([^"]+)"', html):
            assert not re.match(r"^(https?:)?//", attr), (path, attr)
    assert client.get("/api/docs/assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/api/v1/openapi.json").json()["info"]["title"] == "Interdict"

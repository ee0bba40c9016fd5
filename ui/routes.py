"""The server's own HTTP routes beside Streamlit's (app.py mounts them). Kept free of heavy
imports: app.py loads this before the app's modules have warmed up (ui/preload.py)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

LIVE_FRAMES = "/api/live/{token}"  # frames of a playing run, pulled by its live view


async def live_frames(request: Request) -> Response:
    """See ui.service.frame_endpoint. Imported on the first request, which comes from a page
    the server has already drawn (so the app's modules are loaded by then)."""
    from ui.service import frame_endpoint

    return await frame_endpoint(request)


ROUTES = [Route(LIVE_FRAMES, live_frames, methods=["GET"])]

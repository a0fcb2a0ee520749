"""A plugin whose routes forget authentication and authorization: the core guards them anyway."""

from typing import Any

from tornado import web

from jupyter_companion.hookspecs import hookimpl


@hookimpl
def register_routes(app: Any) -> list[Any]:
    """One Jupyter handler without ``@web.authenticated``/``@authorized``, one plain tornado handler
    (refused), and one webhook that authenticates requests itself."""
    from jupyter_server.base.handlers import APIHandler

    class Forgetful(APIHandler):
        async def get(self) -> None:
            self.finish({"secret": "careless-plugin-data"})

        async def post(self) -> None:
            self.finish({"changed": True})

    class Plain(web.RequestHandler):
        def get(self) -> None:
            self.finish({"secret": "plain-handler-data"})

    class Hook(web.RequestHandler):
        companion_public = True

        def check_xsrf_cookie(self) -> None:
            """A webhook carries a signature instead of Jupyter's XSRF cookie."""

        def post(self) -> None:
            if self.request.headers.get("X-Signature") != "ok":
                raise web.HTTPError(403)
            self.finish({"accepted": True})

    return [("/companion/api/careless/data", Forgetful), ("/companion/api/careless/plain", Plain),
            ("/companion/hooks/careless", Hook)]

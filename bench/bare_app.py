"""A bare Litestar app rendering one trivial Jinja template: the baseline the customer page is compared with.

Served exactly as `backoffice serve` serves the real app (uvicorn, one worker, same options):
`python bench/bare_app.py --port 8765`.
"""

from __future__ import annotations

import argparse

import uvicorn
from jinja2 import DictLoader, Environment
from litestar import Litestar, MediaType, get
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig

PAGE = """<!doctype html>
<html lang="hu"><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body><h1>{{ title }}</h1><p>{{ greeting }}, {{ name }}!</p></body></html>
"""


@get("/")
async def index() -> Template:
    return Template(template_name="page.html", context={"title": "Bare", "greeting": "Szia", "name": "Világ"},
                    media_type=MediaType.HTML)


def create_app() -> Litestar:
    environment = Environment(loader=DictLoader({"page.html": PAGE}), autoescape=True)
    return Litestar(
        route_handlers=[index],
        template_config=TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment)),
    )


app = create_app()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    # The same uvicorn settings as `backoffice serve` (backoffice/cli.py).
    uvicorn.run(app, host=args.host, port=args.port, workers=1, reload=False,
                proxy_headers=False, access_log=False, log_level="info")


if __name__ == "__main__":
    main()

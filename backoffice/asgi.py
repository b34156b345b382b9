"""The ASGI application for servers: `uvicorn backoffice.asgi:app`."""

from backoffice.app import create_app

app = create_app()

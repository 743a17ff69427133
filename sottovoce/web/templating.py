"""Jinja2 templates (autoescaped). Pages are named after their view; partials start with '_'."""

from pathlib import Path

from starlette.templating import Jinja2Templates

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

"""Jinja2 templates (autoescaped). Pages are named after their view; partials start with '_'."""

import json
from pathlib import Path

from starlette.templating import Jinja2Templates

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def readable(details: str) -> str:
    """A stored JSON object as words: {"reason": "x"} -> "x"; {"a": 1, "b": 2} -> "a: 1; b: 2"."""
    try:
        value = json.loads(details or "{}")
    except ValueError:
        return str(details)
    if not isinstance(value, dict):
        return str(value)
    if set(value) == {"reason"}:
        return str(value["reason"])
    return "; ".join(f"{str(k).replace('_', ' ')}: {v}" for k, v in value.items())


templates.env.filters["readable"] = readable

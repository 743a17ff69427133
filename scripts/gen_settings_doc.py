"""Write docs/settings.md from the Settings class (run after adding a setting)."""

from pathlib import Path

from sottovoce.core.settings import Settings

lines = [
    "# Settings",
    "",
    "Every setting is an environment variable (or a key in `sottovoce.toml` in the working folder).",
    "Generated from `sottovoce/core/settings.py` by `python scripts/gen_settings_doc.py`.",
    "",
    "| variable | default | meaning |",
    "|---|---|---|",
]
for name, field in Settings.model_fields.items():
    default = field.default if field.default not in (None, "") else "(derived)"
    lines.append(f"| `SOTTOVOCE_{name.upper()}` | `{default}` | {field.description} |")
Path(__file__).parent.parent.joinpath("docs", "settings.md").write_text("\n".join(lines) + "\n")

"""Forensic tools: tracing leaked review clips back to the reviewer they were served to.

See ``sottovoce.forensics.watermark`` and ``docs/watermark.md``.
"""

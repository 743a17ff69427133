"""Imports every module that registers a background job handler (see worker.handler)."""

import sottovoce.asr.jobs  # noqa: F401

"""Imports every module that registers a background job handler (see worker.handler)."""

import sottovoce.asr.jobs  # noqa: F401
import sottovoce.review.jobs  # noqa: F401
import sottovoce.review.deidentify  # noqa: F401  (installs the de-identifying render steps)

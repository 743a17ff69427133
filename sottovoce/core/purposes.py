"""What a sealed value or a derived key is for: one name per use, bound into the associated data
(``sottovoce/v1/{purpose}/{owner}``) or the HKDF label, so a ciphertext or key made for one use
never opens or verifies as another. The strings are part of the stored format: never change one."""

from __future__ import annotations

from enum import StrEnum


class Purpose(StrEnum):
    # Sealed with an account's data key (core/crypto.KeyRing.seal).
    AUDIO = "audio"
    HYPOTHESIS = "hypothesis"
    RENDERED_CLIP = "rendered-clip"
    ANNOTATION = "annotation"
    GOLD_REFERENCE = "gold-reference"
    ADJUDICATION = "adjudication"
    REVIEW_DRAFT = "review-draft"
    # Wrapped or sealed under the master key or a key derived from it.
    DATA_KEY = "data-key"
    TOTP_SECRET = "totp"
    MODEL_PARAMS = "model-params"


class KeyLabel(StrEnum):
    """HKDF labels of keys derived from the master key (core/crypto.KeyRing.derived_key)."""

    STAFF_TOTP = "staff-totp"
    NETWORK_TAG = "network-tag"
    DATASET_SPLIT = "dataset-split"
    MODEL_PARAMS = "model-params"
    FORENSIC_WATERMARK = "forensic-watermark"

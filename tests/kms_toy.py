"""A stand-in KMS plug-in for tests (imported by name from settings, so it lives in its own module)."""

from typing import ClassVar

from sottovoce.core.crypto import MasterKey
from sottovoce.core.errors import IntegrityFailure


class ToyKMS:
    """What a KMS plug-in looks like: the key material never leaves "the KMS" (this object); wrapped
    keys carry the key version that made them, and wrap always uses the newest version."""

    versions: ClassVar[list[bytes]] = [b"\x01" * 32]

    def __init__(self, settings):
        self.key_id = f"toy-kms:v{len(self.versions)}"

    def wrap(self, data_key: bytes, context: str) -> bytes:
        version = len(self.versions) - 1
        return bytes([version]) + MasterKey(self.versions[version]).wrap(data_key, context)

    def unwrap(self, wrapped: bytes, context: str) -> bytes:
        if not wrapped or wrapped[0] >= len(self.versions):
            raise IntegrityFailure("unknown key version")
        return MasterKey(self.versions[wrapped[0]]).unwrap(wrapped[1:], context)

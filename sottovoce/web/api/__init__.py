"""The device-facing JSON API (/api/v1). Every route here authenticates a device token."""

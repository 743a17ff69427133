"""Configuration, the long-lived objects, errors, keys, blobs, audio and the audit log: what every feature stands on."""

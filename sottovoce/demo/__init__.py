"""The demo instance: real clips (see ATTRIBUTION.md), demo accounts, devices and staff."""

"""Interoperability with the tools review teams already use (Label Studio in and out)."""

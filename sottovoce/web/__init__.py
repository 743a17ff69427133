"""The web layer: app.py builds the app; one router module per audience (api/ for devices)."""

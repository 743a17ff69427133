"""The account holder's side: one-time sign-in links and sessions (signin.py), and their view of
everything held about them (view.py). Deletion, retention and export live in deletion.py,
retention.py and export.py, shared with the CLI and the background sweep."""

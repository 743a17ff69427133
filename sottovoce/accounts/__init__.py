"""The account holder's side: accounts and devices, consent, retention, sign-in links, the dashboard, data export and the deletion cascade."""

"""Staff pages (/staff): sign-in, home, password, administration and the audit log."""

"""Staff identity: roles, passwords, TOTP second factor, server-side sessions, brute-force limits."""

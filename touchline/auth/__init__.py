"""Users, passwords, sessions, API tokens and the visibility policy."""

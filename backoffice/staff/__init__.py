"""Staff accounts: users and roles, sign-in sessions, API tokens."""

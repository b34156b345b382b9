"""What every screen shares: authentication, guards, CSRF, errors, i18n and layout helpers."""

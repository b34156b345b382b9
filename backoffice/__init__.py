"""backoffice: the telecom operator's customer-service back-office and self-service portal."""

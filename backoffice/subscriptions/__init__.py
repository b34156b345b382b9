"""Subscriptions: the catalogue, the number pool, services and their lifecycle, add-ons, and the
subscriber and payer relations. Billing asks it who paid for what on which day."""

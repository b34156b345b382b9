"""Customers: parties, addresses, contact points, consents, billing accounts and the contact log."""

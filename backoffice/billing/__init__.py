"""Billing: usage import and rating, bill runs, invoices and their PDFs (later: payments, dunning,
bill queries, credit notes)."""

"""Use cases: each takes a session (and a Shopify client where it needs one) and never commits.

The caller (a view, a job or a CLI command) owns the transaction, so a use case and the
ledger entries it posts commit or roll back together.
"""

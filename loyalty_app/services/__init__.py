"""Use cases: each takes a session (and a Shopify client where it needs one).

The caller (a view, a job or a CLI command) owns the transaction, so a use case and the
ledger entries it posts commit or roll back together. The exceptions are the few use cases
that call Shopify between database steps (redemptions.redeem, redemptions.expire_codes):
they commit before each network call so no lock is held across it, and say so.
"""

"""The loyalty program's rules as pure functions over plain values.

Nothing here imports Flask, SQLAlchemy or Shopify: the ledger service feeds these functions
what it reads from the database and posts what they return.
"""

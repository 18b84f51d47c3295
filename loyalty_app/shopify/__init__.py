"""The only code that talks to Shopify: OAuth and session tokens, the Admin GraphQL client and its operations."""

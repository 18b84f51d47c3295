"""Shopify webhooks: the receiver blueprint, the topic → handler map and the RQ job entry points."""

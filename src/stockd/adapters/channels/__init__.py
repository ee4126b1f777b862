"""Connectors that show channels their sellable quantities: Shopify, Amazon SP-API, signed JSON webhooks."""

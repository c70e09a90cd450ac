"""The seller REST API ("Cash in now" from the marketplace's own pages): see
docs/guide.md, "Seller API"."""

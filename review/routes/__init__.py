"""The review pages' routes, one module per page."""

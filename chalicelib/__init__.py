"""Court enforcement funds: one case, one account."""

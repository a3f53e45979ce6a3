"""Teacher-leader standards, evidence portfolios, assessment and certificates."""

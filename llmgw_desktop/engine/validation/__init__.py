"""Multi-model validation: reviews, red teams, consensus, local comparison, synthesis."""

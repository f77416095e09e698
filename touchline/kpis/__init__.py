"""KPI catalogue, expressions, scorecards, computation and objectives."""

"""Analytics that lead to decisions: fair comparison, success behaviours, the training
plan, early warnings, recognition of progress, the funnel and KPI effectiveness.

Each analysis is a function registered in ``registry``; ``run_analytics`` computes the
registered analyses of a period and stores their results (``AnalyticsResult``), which the
pages and the API read and filter by the viewer's reach. docs/analytics.md documents every
method, its formula, assumptions and limits.
"""

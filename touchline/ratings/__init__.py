"""Soft KPIs made measurable: scales, rating rounds, outside raters, surveys, pulse, gaps."""

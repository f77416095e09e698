"""The web layer: templates, static assets, and what every page shares."""

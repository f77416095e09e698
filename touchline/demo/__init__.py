"""The demo company: one data set for the CLI demo, the tests and the browser tests."""

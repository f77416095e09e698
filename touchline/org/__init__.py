"""The sales organisation: units, sellers, territories and periods."""

"""The docs generator (generate.py): the top layer, reading every other and the policy pack."""

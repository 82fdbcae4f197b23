"""PCI DSS policy pack of the payments platform."""

"""Reproduction of the paper's tables (Table 1, Table 2, the weak rows, Table 3, ED-TCN)."""

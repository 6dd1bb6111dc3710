"""Slow fault and security suites (reliability.md R2, R3, R6-R8, S12, S13): make check-slow."""

"""Seed data: the demo organisation (demo_org.json) and its generated history (demo.py)."""

"""Sharing scenarios: import flows from what people already have (HAR, curl)."""

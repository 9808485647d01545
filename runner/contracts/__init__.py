"""OpenAPI contracts: descriptions loaded once per run, responses checked against them, coverage."""

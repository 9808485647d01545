"""`apiflow load`: the flows as load tests on Locust, one machine or many (the `load` extra)."""

"""The step engine: runs flows (render → send → check → capture), prints nothing, returns results."""

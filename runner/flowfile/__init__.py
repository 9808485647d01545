"""The flow file: YAML → an immutable, validated `Flow` (load, check, build, templates, JSONPaths)."""

"""Reporters: functions of (results, redactor) that render a run for people and machines."""

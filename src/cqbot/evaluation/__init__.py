"""Batch question evaluation: gold questions (goldset), scoring and metrics (scoring), the report
(report), and a whole run as `cqbot eval` does it (run)."""

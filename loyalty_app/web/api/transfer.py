"""transfer routes of the admin API (being built)."""

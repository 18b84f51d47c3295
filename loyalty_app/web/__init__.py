"""HTTP blueprints, one per surface (health, auth, admin, app proxy)."""

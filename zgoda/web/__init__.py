"""HTTP layer: blueprints, security headers and error pages."""

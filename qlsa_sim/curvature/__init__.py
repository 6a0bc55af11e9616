"""curvature subpackage."""

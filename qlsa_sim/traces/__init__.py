"""traces subpackage."""

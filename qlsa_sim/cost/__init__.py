"""cost subpackage."""

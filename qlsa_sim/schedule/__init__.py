"""schedule subpackage."""

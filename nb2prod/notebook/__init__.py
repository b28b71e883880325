"""Read a notebook file and give each code cell its role from the tag vocabulary."""

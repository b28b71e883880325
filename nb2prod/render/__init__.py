"""Render a plan into the package's files with the Jinja templates, and format them."""

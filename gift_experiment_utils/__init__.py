"""The experiment engine shared by every domain (see README.md in this folder)."""

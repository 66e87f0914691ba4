"""Blueprints of the hub's HTTP interface."""

"""Pulumi ComponentResources, one per part of the estate; each reads the stack model and nothing else."""

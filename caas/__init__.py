"""Intershop Commerce Platform (CaaS) on Azure: the stack model, naming, offline plan and tooling."""

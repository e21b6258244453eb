"""Pulumi program: one Intershop Commerce Platform stack (shared, int, uat or prd) on Azure."""

import pulumi

from caas import config, estate, specs

try:
    model = config.load()
except config.ConfigError as error:
    # One line per problem, naming the stack file and key; no traceback.
    raise pulumi.RunError(str(error)) from None

for name, value in estate.build(specs.derive(model)).items():
    pulumi.export(name, value)

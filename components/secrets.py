"""The platform's secrets: generated with pulumi-random or taken from ``caas:secrets``, kept in the Key Vault.

Values exist only as Pulumi secrets (encrypted in state, ``[secret]`` in plans and outputs) and in Key Vault;
workloads read them from there with ``Key Vault Secrets User`` on the vault and nothing more.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_azure_native as azure_native
import pulumi_random as random
from pydantic import SecretStr

from caas import secret_names
from caas.specs.site import Site
from components import roles

keyvault = azure_native.keyvault

# Characters every consumer accepts unquoted (T-SQL, libpq URIs, JDBC URLs, shell): no quotes, no @ : / ? # %.
SPECIAL_CHARACTERS = "-_.~!*"


@dataclass
class PlatformSecretsArgs:
    site: Site
    secrets: Mapping[str, str]  # Key Vault secret name -> what it is (the data area's)
    smtp_password: SecretStr | None  # caas:secrets.smtpPassword; every other value is generated
    resource_group_name: pulumi.Input[str]
    vault_id: pulumi.Input[str]
    vault_name: pulumi.Input[str]
    # Who may read the vault's secrets (workload identities, the gateway's identity): label -> principal id.
    readers: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    # Values to store instead of generating them: the DR region's vault holds the same passwords as the primary
    # one (the same SQL MI logins behind the failover group); secret name -> value (a Pulumi secret).
    copies: Mapping[str, pulumi.Output[str]] = field(default_factory=dict)
    rotation: secret_names.SecretRotation | None = None  # expiry of every secret, keepers of every generator


def expiry(rotation: secret_names.SecretRotation | None) -> keyvault.SecretAttributesArgs | None:
    """A secret's attributes under ``rotation``; None (no expiry) is what the policy pack reports."""
    return keyvault.SecretAttributesArgs(expires=rotation.expires) if rotation is not None else None


class PlatformSecrets(pulumi.ComponentResource):
    """``intershop:caas:PlatformSecrets``: one Key Vault secret per entry of ``args.secrets``."""

    def __init__(self, name: str, args: PlatformSecretsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("intershop:caas:PlatformSecrets", name, None, opts)
        self.values: dict[str, pulumi.Output[str]] = {}
        self.secret_ids: dict[str, pulumi.Output[str]] = {}
        for secret_name, content in args.secrets.items():
            value = self._value(name, secret_name, args)
            secret = keyvault.Secret(
                f"{name}-{secret_name}",
                keyvault.SecretArgs(
                    secret_name=secret_name,
                    vault_name=args.vault_name,
                    resource_group_name=args.resource_group_name,
                    properties=keyvault.SecretPropertiesArgs(
                        value=value, content_type=content, attributes=expiry(args.rotation)
                    ),
                    tags=args.site.tags,
                ),
                opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["properties"]),
            )
            self.values[secret_name] = value
            self.secret_ids[secret_name] = secret.id
        for label, principal_id in args.readers.items():
            roles.assign(
                f"{name}-reader-{label}",
                role="Key Vault Secrets User",
                principal_id=principal_id,
                scope=args.vault_id,
                parent=self,
            )
        self.register_outputs({"secretIds": self.secret_ids})

    def _value(self, name: str, secret_name: str, args: PlatformSecretsArgs) -> pulumi.Output[str]:
        if secret_name in args.copies:
            return pulumi.Output.secret(args.copies[secret_name])
        configured = {secret_names.IOM_SMTP_PASSWORD: args.smtp_password}.get(secret_name)
        if configured is not None:
            return pulumi.Output.secret(configured.get_secret_value())
        # SQL Server and PostgreSQL complexity rules: three of four character classes; 32 characters.
        generated = random.RandomPassword(
            f"{name}-{secret_name}-random",
            length=32,
            special=True,
            override_special=SPECIAL_CHARACTERS,
            min_lower=2,
            min_upper=2,
            min_numeric=2,
            min_special=2,
            keepers=args.rotation.keepers if args.rotation else None,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return pulumi.Output.secret(generated.result)

"""What environment stacks read from the shared stack: THE one list, and its values derived from the shared model.

Every output an environment reads through its StackReference is named here, and only here (later issues add
the agent pool name and the shared vault to this list). The offline plan answers the
StackReference with ``derive(shared_model)`` instead of rendering the shared stack first, so an environment's
plan pays for its own resources only; tests/test_stack_outputs.py checks that derived equals rendered.
"""

from __future__ import annotations

from typing import Any

from caas import specs
from caas.model import EstateConfig

# Exported by the shared stack when it runs an SFTP host; read only by environments with caas:sftp.
# The account id is no longer among them: environments reach the host through the hub's private endpoint.
SFTP_SHARED_OUTPUTS = ("sftpStorageAccountName", "sftpHost")
# Exported by the shared stack when it has a DR hub (caas:network.drAddressSpace); read only by environments whose
# application tier is activated in the DR region (caas:disasterRecovery.activate).
DR_SHARED_OUTPUTS = ("drHubVnetId", "drHubVnetName", "drHubResourceGroupName", "drPrivateDnsZoneIds")
# Outputs of the shared stack that environment stacks read; the names are a contract between stacks.
SHARED_OUTPUTS = (
    "hubVnetId",
    "hubVnetName",
    "hubResourceGroupName",
    "registryId",
    "registryLoginServer",
    "bastionId",  # partners' Reader on the hub's Bastion (caas.specs.access)
    "privateDnsZoneIds",  # key -> id of the shared privatelink zones (environments link their spoke to them)
    *SFTP_SHARED_OUTPUTS,
    *DR_SHARED_OUTPUTS,
)


def derive(shared: EstateConfig) -> dict[str, Any]:
    """The values of ``SHARED_OUTPUTS`` the shared stack exports, computed from its validated model.

    Names come from the shared stack's specs (``caas.specs.derive``, the names its components register), ids
    from the offline mocks' ARM id scheme, so the result is what the shared stack's offline plan exports. Only
    the offline plan needs this; a real deployment reads the real shared stack.
    """
    # Imported here: the deploying program imports the list above and has no use for the mocks.
    from caas.mocks import arm_id

    if not shared.is_shared:
        raise ValueError(f"shared outputs derive from the shared stack's model, not from {shared.environment}'s")
    spec = specs.derive(shared)
    assert spec.shared is not None  # a shared model derives the shared parts
    names = spec.names
    rg = names.resource("resource_group")
    vnet = names.resource("vnet")
    registry = names.compact("registry")
    values: dict[str, Any] = {
        "hubVnetId": arm_id(
            "azure-native:network:VirtualNetwork", "", {"resourceGroupName": rg, "virtualNetworkName": vnet}
        ),
        "hubVnetName": vnet,
        "hubResourceGroupName": rg,
        "registryId": arm_id(
            "azure-native:containerregistry:Registry", "", {"resourceGroupName": rg, "registryName": registry}
        ),
        "registryLoginServer": f"{registry}.azurecr.io",
        "bastionId": arm_id(
            "azure-native:network:BastionHost",
            "",
            {"resourceGroupName": rg, "bastionHostName": names.resource("bastion")},
        ),
        "privateDnsZoneIds": {
            key: arm_id("azure-native:privatedns:PrivateZone", "", {"resourceGroupName": rg, "privateZoneName": zone})
            for key, zone in spec.shared.private_dns_zones.items()
        },
    }
    if spec.shared.dr_hub is not None:
        dr_names = spec.dr_names
        dr_rg, dr_vnet = dr_names.resource("resource_group"), dr_names.resource("vnet")
        values.update(
            drHubVnetId=arm_id(
                "azure-native:network:VirtualNetwork", "", {"resourceGroupName": dr_rg, "virtualNetworkName": dr_vnet}
            ),
            drHubVnetName=dr_vnet,
            drHubResourceGroupName=dr_rg,
            drPrivateDnsZoneIds={
                key: arm_id(
                    "azure-native:privatedns:PrivateZone", "", {"resourceGroupName": dr_rg, "privateZoneName": zone}
                )
                for key, zone in spec.shared.private_dns_zones.items()
            },
        )
    service = spec.sftp_service
    if service is not None:
        values.update(
            sftpStorageAccountName=service.account,
            sftpHost=service.host,
        )
    return {key: values[key] for key in SHARED_OUTPUTS if key in values}

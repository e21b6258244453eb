"""Who deploys the estate, from where and as whom: the delivery facts that init, preflight, the pipelines and the
runbooks read. Pure: derived from the shared stack's model and the project name, no Azure calls.

The estate is private, so every `pulumi up` after the shared stack's first one runs on the hub's Managed DevOps
Pool, signed in as the deployer identity through a workload-identity-federation service connection. State lives
in a self-managed (DIY) Azure Blob backend whose secrets provider is a Key Vault key; both are created by
``python -m caas init`` before the first `up`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from caas.model import DIY_ORGANIZATION, EstateConfig
from caas.naming import Namer
from caas.plan import Project
from caas.profiles import ENVIRONMENTS
from caas.regions import ZONAL_REGIONS
from caas.specs import derive
from caas.specs.access import CommandInvokeRole, command_invoke_role

STATE_CONTAINER = "pulumi-state"
SECRETS_KEY = "pulumi-secrets"
# Deploy order: environments read the shared stack's outputs.
STACK_ORDER = ("shared", *ENVIRONMENTS)


@dataclass(frozen=True)
class StateBackend:
    """Where Pulumi keeps the customer's stack state and the key that encrypts its secrets."""

    resource_group: str
    location: str
    storage_account: str
    container: str
    key_vault: str
    key: str
    sku: str = "Standard_RAGZRS"  # state_sku(location)

    @property
    def url(self) -> str:
        """`pulumi login` URL; the account comes from AZURE_STORAGE_ACCOUNT (the CLI's documented form)."""
        return f"azblob://{self.container}"

    @property
    def secrets_provider(self) -> str:
        return f"azurekeyvault://{self.key_vault}.vault.azure.net/keys/{self.key}"


def state_sku(location: str) -> str:
    """The state must outlive its region: the DR activation writes to it after a region loss (docs/recovery.md).
    Read-access geo-zone-redundant where the region has zones, read-access geo-redundant where it has none; after
    a region loss, a customer-managed account failover makes the paired region's copy writable (Microsoft Learn,
    "Azure storage disaster recovery planning and failover")."""
    return "Standard_RAGZRS" if location in ZONAL_REGIONS else "Standard_RAGRS"


@dataclass(frozen=True)
class DeployEnvironment:
    """An Azure DevOps environment a deploy stage targets; ``gated`` ones carry an approval check (set by init)."""

    name: str
    stack: str
    gated: bool


@dataclass(frozen=True)
class Delivery:
    customer: str
    project: str  # the Pulumi project (Pulumi.yaml name)
    organization_url: str  # Azure DevOps organisation
    devops_project: str  # the Azure DevOps project the pipelines live in
    registry: str  # the shared container registry (login server: <registry>.azurecr.io)
    agent_pool: str  # the Managed DevOps Pool of the shared stack; Azure DevOps shows it under this name
    # The shared stack's pool in its DR hub (caas:network.drAddressSpace of the shared stack): runs the deploy
    # after a region loss (pipelines/estate/deploy.yml, parameter `site: dr`). None without a DR hub.
    dr_agent_pool: str | None
    service_connection: str  # the deployer's workload-identity-federation service connection
    issuer: str
    deployer_identity: str  # user-assigned identity in the state group the deploy runs as (created by init)
    state: StateBackend
    environments: tuple[DeployEnvironment, ...]
    # Data jobs (pipelines/data/) sign in through their own connection and identity, scoped by caas.datajobs.
    data_service_connection: str = ""
    data_identity: str = ""
    # Release builds push images through the shared stack's `pipelines` identity (AcrPush only), never as the
    # deployer: this connection's name is the last segment of caas:devops.serviceConnectionSubject.
    registry_service_connection: str = ""

    @property
    def deployer_subject(self) -> str:
        """Federated credential subject Azure DevOps presents for the service connection."""
        return f"sc://{self.organization_url.rsplit('/', 1)[1]}/{self.devops_project}/{self.service_connection}"

    @property
    def data_subject(self) -> str:
        """Federated credential subject of the data jobs' service connection."""
        return self.deployer_subject.rsplit("/", 1)[0] + f"/{self.data_service_connection}"

    @property
    def command_invoke_role(self) -> CommandInvokeRole:
        """The customer's one custom role (partners' ``az aks command invoke``): init defines it on the
        subscription under this GUID, the environment stacks assign it on their cluster and define no role."""
        return command_invoke_role(self.customer)

    def stack_name(self, stack: str) -> str:
        """Fully qualified stack name in the DIY backend."""
        return f"{DIY_ORGANIZATION}/{self.project}/{stack}"

    def environment(self, stack: str) -> DeployEnvironment:
        return next(e for e in self.environments if e.stack == stack)


def delivery(models: Mapping[str, EstateConfig], project: str) -> Delivery:
    """The delivery facts of a customer folder, from its stacks' models (keyed by stack name, shared included).

    A stack's deploy is gated by an approval when its effective profile says so (production: shared and prd).
    """
    shared = models["shared"]
    if shared.devops is None or shared.build_agents is None:
        raise ValueError("the shared stack's model has no caas:devops / caas:buildAgents")
    spec = derive(shared)
    names = spec.names
    code = shared.customer.code
    state_names = Namer(code, "state", shared.location.primary)
    return Delivery(
        customer=code,
        project=project,
        organization_url=shared.devops.organization_url,
        devops_project=shared.devops.projects[0],
        registry=names.compact("registry"),
        agent_pool=names.resource("devops_pool"),
        dr_agent_pool=spec.dr_names.resource("devops_pool") if spec.shared and spec.shared.dr_hub else None,
        service_connection=f"caas-{code}-deployer",
        issuer=shared.devops.service_connection_issuer,
        deployer_identity=state_names.resource("identity", "deployer"),
        state=StateBackend(
            resource_group=state_names.resource("resource_group"),
            location=shared.location.primary,
            storage_account=state_names.compact("storage"),
            container=STATE_CONTAINER,
            key_vault=state_names.key_vault(),
            key=SECRETS_KEY,
            sku=state_sku(shared.location.primary),
        ),
        environments=tuple(
            DeployEnvironment(f"caas-{code}-{stack}", stack, gated=models[stack].profile.deploy_approval)
            for stack in STACK_ORDER
            if stack in models
        ),
        data_service_connection=f"caas-{code}-data",
        data_identity=state_names.resource("identity", "data"),
        registry_service_connection=shared.devops.service_connection_subject.rsplit("/", 1)[1],
    )


def for_project(project: Project) -> Delivery:
    """The delivery facts of a customer folder (this repository or one under ``examples/``)."""
    return delivery({stack: project.load(stack)[0] for stack in project.stacks()}, project.name)

"""What a runbook is generated from: the stack's model, the shared stack's, the project's other stacks, the
delivery facts (pool, service connections, Azure DevOps environments) and the pipeline definitions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from caas.config import ConfigError, EstateConfig
from caas.delivery import Delivery, delivery
from caas.pipeline_vars import PipelineDefinition, folder_of, pipeline_definitions
from caas.plan import Project

MACHINE = "their own machine, Azure CLI signed in with their Entra ID account (`az login`)"


@dataclass(frozen=True)
class Context:
    """What a runbook is generated from: the stack's model, plus the shared stack's for an environment."""

    cfg: EstateConfig
    stack: str  # the Pulumi stack name (the stack file is Pulumi.<stack>.yaml)
    project: str  # the Pulumi project name (Pulumi.yaml)
    org: str | None  # the Pulumi organisation, when the stack files name it (caas:sharedStack)
    shared: EstateConfig | None  # environment stacks: the model of the shared stack they reference
    peers: Mapping[str, EstateConfig] = field(default_factory=dict)  # the project's other environments, by stack
    delivery: Delivery | None = None  # who deploys from where (caas.delivery); None without a shared stack file
    pipelines: tuple[PipelineDefinition, ...] = ()  # the Azure DevOps pipelines of this customer folder
    root: Path | None = None  # the repository (pipeline files are read from it)
    folder: str = "."  # the customer folder inside the repository ('.': the root)

    @property
    def source(self) -> str:
        return f"Pulumi.{self.stack}.yaml"

    @property
    def dir_flag(self) -> str:
        """What every `python -m caas` command of this folder needs after its subcommand."""
        return "" if self.folder == "." else f" --dir {self.folder}"

    def stack_path(self, stack: str) -> str:
        """A stack file as git names it from the repository's root."""
        return f"Pulumi.{stack}.yaml" if self.folder == "." else f"{self.folder}/Pulumi.{stack}.yaml"

    @property
    def qualified(self) -> str:
        """The stack as ``--stack`` takes it: ``<org>/<project>/<stack>``."""
        return self.qualify(self.stack)

    @property
    def shared_qualified(self) -> str:
        return self.qualified if self.cfg.is_shared else str(self.cfg.shared_stack)

    @property
    def registry_model(self) -> EstateConfig | None:
        """The model holding the registry and Azure DevOps settings: the shared stack's."""
        return self.cfg if self.cfg.is_shared else self.shared

    def qualify(self, stack: str) -> str:
        """Another stack of the same project as ``--stack`` takes it."""
        return f"{self.org}/{self.project}/{stack}" if self.org else stack

    def output(self, name: str, *, shared: bool = False, as_json: bool = False) -> str:
        """The exact command that prints a stack output after deployment."""
        stack = self.shared_qualified if shared else self.qualified
        return f"pulumi stack output {name} --stack {stack}" + (" --json" if as_json else "")

    # -- where a step runs, in the model's names --

    def pipeline(self, stem: str) -> PipelineDefinition | None:
        """The pipeline running ``<stem>.yml``, when this folder has one."""
        return next((p for p in self.pipelines if p.path.rsplit("/", 1)[-1] == f"{stem}.yml"), None)

    def on_agents(self, pipeline: PipelineDefinition) -> str:
        assert self.delivery is not None
        pool = self.delivery.agent_pool
        return f"a hub build agent (pool `{pool}`) through the pipeline `{pipeline.name}` (`{pipeline.path}`)"

    def devops_ui(self) -> str:
        assert self.delivery is not None
        return f"the Azure DevOps web UI, {self.delivery.organization_url}/{self.delivery.devops_project}"


def context(project: Project, stack: str) -> Context:
    """Load the stack (and the shared stack it references, when its file is in the same project)."""
    cfg, _, _ = project.load(stack)
    org = _org(project, cfg)
    shared = None
    if cfg.shared_stack is not None:
        parts = cfg.shared_stack.split("/")
        same_project = len(parts) < 2 or parts[-2] == project.name
        if same_project and project.stack_file(parts[-1]).exists():
            shared, _, _ = project.load(parts[-1])
    models = _models(project)
    peers = {name: m for name, m in models.items() if not m.is_shared and name != stack}
    facts = _delivery(models | {stack: cfg}, project)
    pipelines = tuple(pipeline_definitions(project, facts.customer)) if facts is not None else ()
    return Context(
        cfg, stack, project.name, org, shared, peers, facts, pipelines, project.program.parent, folder_of(project)
    )


def _delivery(models: dict[str, EstateConfig], project: Project) -> Delivery | None:
    if "shared" not in models or models["shared"].devops is None or models["shared"].build_agents is None:
        return None
    return delivery(models, project.name)


def _org(project: Project, cfg: EstateConfig) -> str | None:
    """The organisation named by ``caas:sharedStack`` (``<org>/<project>/shared``): the stack's own, or for
    the shared stack (which references nothing) its environments'."""
    refs = [cfg.shared_stack] if cfg.shared_stack else sorted(_sibling_refs(project))
    for ref in refs:
        parts = ref.split("/")
        if len(parts) == 3 and parts[1] == project.name:
            return parts[0]
    return None


def _sibling_refs(project: Project) -> set[str]:
    return {m.shared_stack for m in _models(project).values() if m.shared_stack}


def _models(project: Project) -> dict[str, EstateConfig]:
    """The project's stacks that load, by name; a broken sibling stack file must not stop this one's runbook."""
    models = {}
    for stack in project.stacks():
        try:
            models[stack] = project.load(stack)[0]
        except ConfigError:
            continue
    return models

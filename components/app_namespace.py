"""One app's namespace on the environment's AKS cluster, with everything around it in Azure and in the cluster.

Azure side (deployed in both phases of ``caas:kubernetes.enabled``): the app's user-assigned identity, federated
with exactly the service accounts that run as it, reading only its own Key Vault secrets (the partners' roles
on the namespace: components/partner_access.py). Cluster side (only when enabled): the namespace with quota and
limit range, default-deny network policy plus the allow rules the app needs, Key Vault -> Secret sync, the static
volumes on the app's NFS share, and the app's Helm release.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure_native
import pulumi_kubernetes as k8s

from caas import manifests
from caas.charts import icm
from caas.sections import kubernetes as layer
from caas.specs import kubernetes as kspec
from caas.specs.kubernetes import KubernetesSpec
from caas.specs.site import Site
from components import roles
from components.helm_release import chart_release

core = k8s.core.v1
meta = k8s.meta.v1
networking = k8s.networking.v1
managedidentity = azure_native.managedidentity

# The Azure Files CSI driver chmods a freshly mounted NFS share root to 0777; the layout job (as the app's
# user) creates the folders the app mounts, so the app owns them and nothing runs as root.
ICM_UID = 150


@dataclass
class Share:
    """The app's NFS share (made by the compute area)."""

    resource_group_name: pulumi.Input[str]
    account_name: pulumi.Input[str]
    share_name: pulumi.Input[str]
    quota_gib: int


@dataclass
class AppNamespaceArgs:
    site: Site
    spec: KubernetesSpec
    workload: layer.Workload
    resource_group_name: pulumi.Input[str]
    cluster_id: pulumi.Input[str]
    oidc_issuer_url: pulumi.Input[str]
    vault_name: pulumi.Input[str]
    secret_ids: Mapping[str, pulumi.Input[str]]  # Key Vault secret name -> its resource id (the data area's)
    registry_login_server: pulumi.Input[str]
    provider: k8s.Provider | None  # None: the in-cluster layer is switched off
    share: Share | None = None


class AppNamespace(pulumi.ComponentResource):
    """``intershop:caas:AppNamespace``: identity, access, namespace, policies, secrets, volumes, release."""

    def __init__(self, name: str, args: AppNamespaceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("intershop:caas:AppNamespace", name, None, opts)
        self._name = name
        self._args = args
        w = args.workload
        self.namespace = w.namespace
        self.client_id: pulumi.Output[str] | None = None
        self.tenant_id: pulumi.Output[str] | None = None
        self.release: k8s.helm.v3.Release | None = None
        self._ready: list[pulumi.Resource] = []
        if w.identity:
            self._identity(name, args)
        if args.provider is not None:
            self._in_cluster(name, args)
        self.register_outputs({"namespace": w.namespace, "clientId": self.client_id})

    # -- Azure ----------------------------------------------------------------------------------------------

    def _identity(self, name: str, args: AppNamespaceArgs) -> None:
        w = args.workload
        identity = workload_identity(
            name,
            self,
            args.site,
            args.site.names.resource("identity", w.key),
            args.resource_group_name,
            args.oidc_issuer_url,
            w.namespace,
            w.federated_service_accounts,
        )
        # Secrets User on each secret the app reads, not on the vault.
        for vault_secret in dict.fromkeys(s.vault_secret for s in w.secrets):
            roles.assign(
                f"{name}-reads-{vault_secret}",
                role="Key Vault Secrets User",
                principal_id=identity.principal_id,
                scope=args.secret_ids[vault_secret],
                parent=self,
            )
        self.client_id = identity.client_id
        self.tenant_id = identity.tenant_id

    # -- cluster --------------------------------------------------------------------------------------------

    def _opts(self, **kwargs) -> pulumi.ResourceOptions:
        assert self._args.provider is not None
        return pulumi.ResourceOptions(parent=self, provider=self._args.provider, **kwargs)

    def _meta(self, name: str, **kwargs) -> meta.ObjectMetaArgs:
        return meta.ObjectMetaArgs(name=name, namespace=self._ns.metadata.name, **kwargs)

    def _in_cluster(self, name: str, args: AppNamespaceArgs) -> None:
        spec, w = args.spec, args.workload
        self._ns = self.namespace_object = core.Namespace(
            f"{name}-namespace",
            metadata=meta.ObjectMetaArgs(name=w.namespace, labels=manifests.namespace_labels(spec, w)),
            # Deleting a namespace deletes everything in it (Solr's index claims included): switching the
            # layer off in prd, or removing an app, stops at this protection instead.
            opts=self._opts(protect=args.site.protect),
        )
        self._ready.extend(
            fence(name, self._ns.metadata.name, kspec.quota(spec, w.app), kspec.network_rules(spec, w), self._opts())
        )
        if w.key == "microservices":
            # The customer's charts run as this account; it is federated with the namespace's identity.
            self._service_account(name, layer.MICROSERVICES_SERVICE_ACCOUNT)
        if w.secrets:
            self._ready.append(self._secret_sync(name, args))
        if args.share is not None:
            self._ready.extend(self._volumes(name, args, args.share))

    def _service_account(self, name: str, account: str) -> core.ServiceAccount:
        assert self.client_id is not None
        return core.ServiceAccount(
            f"{name}-sa-{account}",
            metadata=self._meta(account, annotations={"azure.workload.identity/client-id": self.client_id}),
            automount_service_account_token=False,
            opts=self._opts(),
        )

    def _secret_sync(self, name: str, args: AppNamespaceArgs) -> pulumi.Resource:
        assert self.client_id is not None
        assert self.tenant_id is not None
        account = self._service_account(name, layer.SYNC_SERVICE_ACCOUNT)
        return secret_sync(
            name,
            spec=args.spec,
            workload=args.workload,
            namespace=self._ns.metadata.name,
            vault_name=args.vault_name,
            client_id=self.client_id,
            tenant_id=self.tenant_id,
            registry_login_server=args.registry_login_server,
            opts=self._opts(depends_on=[account]),
        )

    def _volume(self, name: str, share: Share, folder: str | None, capacity: str) -> core.PersistentVolume:
        w = self._args.workload
        handle = pulumi.Output.all(share.resource_group_name, share.account_name, share.share_name).apply(
            lambda v: (
                manifests.volume_handle(v[0], v[1], v[2], folder),
                manifests.volume_attributes(v[0], v[1], v[2], folder),
            )
        )
        return core.PersistentVolume(
            f"{name}-pv-{folder or 'share'}",
            metadata=meta.ObjectMetaArgs(
                name=f"{w.namespace}-{folder or 'share'}", labels={"intershop.com/app": w.app}
            ),
            spec=core.PersistentVolumeSpecArgs(
                capacity={"storage": capacity},
                access_modes=["ReadWriteMany"],
                persistent_volume_reclaim_policy="Retain",  # the data belongs to the share, never to Kubernetes
                storage_class_name=layer.STATIC_STORAGE_CLASS,
                mount_options=list(manifests.NFS_MOUNT_OPTIONS),
                csi=core.CSIPersistentVolumeSourceArgs(
                    driver="file.csi.azure.com",
                    volume_handle=handle.apply(lambda h: h[0]),
                    volume_attributes=handle.apply(lambda h: h[1]),
                ),
            ),
            opts=self._opts(),
        )

    def _claim(self, name: str, claim: str, volume: core.PersistentVolume, capacity: str) -> core.PersistentVolumeClaim:
        return core.PersistentVolumeClaim(
            f"{name}-pvc-{claim}",
            metadata=self._meta(claim),
            spec=core.PersistentVolumeClaimSpecArgs(
                access_modes=["ReadWriteMany"],
                storage_class_name=layer.STATIC_STORAGE_CLASS,
                volume_name=volume.metadata.name,
                resources=core.VolumeResourceRequirementsArgs(requests={"storage": capacity}),
            ),
            opts=self._opts(),
        )

    def _volumes(self, name: str, args: AppNamespaceArgs, share: Share) -> list[pulumi.Resource]:
        """IOM: one volume for the chart's own claim. ICM: the share's folders as separate claims."""
        capacity = f"{share.quota_gib}Gi"
        if args.workload.app == "iom":
            self.share_volume = self._volume(name, share, None, capacity)
            return [self.share_volume]
        root = self._claim(name, "icm-share", self._volume(name, share, None, capacity), capacity)
        busybox = kspec.image(args.spec, "busybox")
        layout = k8s.batch.v1.Job(
            f"{name}-share-layout",
            metadata=self._meta("share-layout"),
            spec=k8s.batch.v1.JobSpecArgs(
                backoff_limit=6,
                template=core.PodTemplateSpecArgs(
                    spec=core.PodSpecArgs(
                        restart_policy="OnFailure",
                        automount_service_account_token=False,
                        security_context=core.PodSecurityContextArgs(
                            run_as_non_root=True,
                            run_as_user=ICM_UID,
                            run_as_group=ICM_UID,
                            seccomp_profile=core.SeccompProfileArgs(type="RuntimeDefault"),
                        ),
                        containers=[
                            core.ContainerArgs(
                                name="mkdir",
                                image=pulumi.Output.concat(
                                    args.registry_login_server, "/", busybox.repository, ":", busybox.pinned_tag
                                ),
                                command=["mkdir", "-p", *(f"/share/{f}" for f in icm.SHARE_FOLDERS)],
                                resources=core.ResourceRequirementsArgs(
                                    requests={"cpu": "10m", "memory": "16Mi"}, limits={"cpu": "100m", "memory": "32Mi"}
                                ),
                                security_context=core.SecurityContextArgs(
                                    allow_privilege_escalation=False,
                                    read_only_root_filesystem=True,
                                    capabilities=core.CapabilitiesArgs(drop=["ALL"]),
                                ),
                                volume_mounts=[core.VolumeMountArgs(name="share", mount_path="/share")],
                            )
                        ],
                        volumes=[
                            core.VolumeArgs(
                                name="share",
                                persistent_volume_claim=core.PersistentVolumeClaimVolumeSourceArgs(
                                    claim_name="icm-share"
                                ),
                            )
                        ],
                    )
                ),
            ),
            opts=self._opts(depends_on=[root]),
        )
        claims: list[pulumi.Resource] = [layout]
        for folder in icm.SHARE_FOLDERS:
            volume = self._volume(name, share, folder, capacity)
            claims.append(self._claim(name, icm.claim_name(folder), volume, capacity))
        return claims

    # -- release --------------------------------------------------------------------------------------------

    def install(
        self,
        chart: str,
        values: pulumi.Input[dict],
        *,
        timeout_seconds: int = 900,
        depends_on: Sequence[pulumi.Resource] = (),
    ) -> k8s.helm.v3.Release:
        """The workload's Helm release of ``chart`` (a key of ``layer.CHARTS``) at its pinned version."""
        spec, w = self._args.spec, self._args.workload
        assert w.release is not None
        self.release = chart_release(
            f"{self._name}-release",
            chart=chart,
            release=w.release,
            versions=spec.settings.charts,
            namespace=self._ns.metadata.name,
            values=values,
            timeout_seconds=timeout_seconds,
            opts=self._opts(depends_on=[*self._ready, *depends_on]),
        )
        return self.release


def workload_identity(
    name: str,
    parent: pulumi.Resource,
    site: Site,
    identity_name: str,
    resource_group_name: pulumi.Input[str],
    issuer: pulumi.Input[str],
    namespace: str,
    service_accounts: Sequence[str],
) -> azure_native.managedidentity.UserAssignedIdentity:
    """A user-assigned identity federated with each service account of ``namespace`` (workload identity).

    Azure refuses concurrent writes of federated credentials on one identity, so each waits for the previous.
    """
    # Keyword form: the resource's own `resource_name` argument shadows the Args class field.
    identity = managedidentity.UserAssignedIdentity(
        f"{name}-identity",
        resource_name_=identity_name,
        resource_group_name=resource_group_name,
        location=site.location,
        tags=site.tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    previous: list[pulumi.Resource] = []
    for account in service_accounts:
        credential = managedidentity.FederatedIdentityCredential(
            f"{name}-federation-{account}",
            federated_identity_credential_resource_name=account,
            resource_name_=identity.name,
            resource_group_name=resource_group_name,
            issuer=issuer,
            subject=f"system:serviceaccount:{namespace}:{account}",
            audiences=["api://AzureADTokenExchange"],
            opts=pulumi.ResourceOptions(parent=parent, depends_on=previous),
        )
        previous = [credential]
    return identity


def fence(
    name: str,
    namespace: pulumi.Input[str],
    quota: layer.Quota,
    rules: Sequence[layer.PolicyRule],
    opts: pulumi.ResourceOptions,
) -> list[pulumi.Resource]:
    """A namespace's fence: its ResourceQuota, a LimitRange (so the quota can account for containers without
    resources), a default-deny policy both ways and the allow ``rules``; returns the network policies."""

    def metadata(object_name: str) -> meta.ObjectMetaArgs:
        return meta.ObjectMetaArgs(name=object_name, namespace=namespace)

    core.ResourceQuota(
        f"{name}-quota",
        metadata=metadata("quota"),
        spec=core.ResourceQuotaSpecArgs(
            hard={
                "requests.cpu": quota.requests_cpu,
                "requests.memory": quota.requests_memory,
                "limits.cpu": quota.limits_cpu,
                "limits.memory": quota.limits_memory,
                "pods": str(quota.pods),
            }
        ),
        opts=opts,
    )
    core.LimitRange(
        f"{name}-limits",
        metadata=metadata("defaults"),
        spec=core.LimitRangeSpecArgs(
            limits=[
                core.LimitRangeItemArgs(
                    type="Container",
                    default={"cpu": "500m", "memory": "512Mi"},
                    default_request={"cpu": "100m", "memory": "128Mi"},
                )
            ]
        ),
        opts=opts,
    )
    policies: list[pulumi.Resource] = [
        networking.NetworkPolicy(
            f"{name}-deny-all",
            metadata=metadata("default-deny"),
            spec=networking.NetworkPolicySpecArgs(
                pod_selector=meta.LabelSelectorArgs(), policy_types=["Ingress", "Egress"]
            ),
            opts=opts,
        )
    ]
    for rule in rules:
        peers = [_peer(p) for p in rule.peers]
        ports = [networking.NetworkPolicyPortArgs(protocol=pr, port=port, end_port=end) for pr, port, end in rule.ports]
        if rule.direction == "Ingress":
            spec = networking.NetworkPolicySpecArgs(
                pod_selector=meta.LabelSelectorArgs(),
                policy_types=["Ingress"],
                ingress=[networking.NetworkPolicyIngressRuleArgs(from_=peers, ports=ports or None)],
            )
        else:
            spec = networking.NetworkPolicySpecArgs(
                pod_selector=meta.LabelSelectorArgs(),
                policy_types=["Egress"],
                egress=[networking.NetworkPolicyEgressRuleArgs(to=peers, ports=ports or None)],
            )
        policies.append(
            networking.NetworkPolicy(f"{name}-{rule.name}", metadata=metadata(rule.name), spec=spec, opts=opts)
        )
    return policies


def _peer(peer: layer.Peer) -> networking.NetworkPolicyPeerArgs:
    if peer.cidr is not None:
        return networking.NetworkPolicyPeerArgs(
            ip_block=networking.IPBlockArgs(cidr=peer.cidr, except_=list(peer.except_cidrs) or None)
        )
    assert peer.namespace is not None  # a peer is a CIDR or a namespace (caas.sections.kubernetes.Peer)
    return networking.NetworkPolicyPeerArgs(
        namespace_selector=meta.LabelSelectorArgs(match_labels={"kubernetes.io/metadata.name": peer.namespace}),
        pod_selector=meta.LabelSelectorArgs(match_labels=dict(peer.pod_labels)) if peer.pod_labels else None,
    )


def secret_sync(
    name: str,
    *,
    spec: KubernetesSpec,
    workload: layer.Workload,
    namespace: pulumi.Input[str],
    vault_name: pulumi.Input[str],
    client_id: pulumi.Input[str],
    tenant_id: pulumi.Input[str],
    registry_login_server: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> pulumi.Resource:
    """The CSI driver copies Key Vault secrets into Kubernetes Secrets only while a pod mounts the class:
    this deployment is that pod (a pause container, running as the ``secrets-sync`` service account, which the
    caller creates and federates), so the Secrets exist before the release needs them."""

    def metadata(object_name: str, **kwargs) -> meta.ObjectMetaArgs:
        return meta.ObjectMetaArgs(name=object_name, namespace=namespace, **kwargs)

    provider_spec = pulumi.Output.all(vault=vault_name, client=client_id, tenant=tenant_id).apply(
        lambda v: manifests.secret_provider_spec(
            workload, vault_name=v["vault"], client_id=v["client"], tenant_id=v["tenant"]
        )
    )
    provider_class = k8s.apiextensions.CustomResource(
        f"{name}-secret-provider",
        api_version="secrets-store.csi.x-k8s.io/v1",
        kind="SecretProviderClass",
        metadata=metadata(manifests.SECRET_PROVIDER_CLASS),
        spec=provider_spec,
        opts=opts,
    )
    pause = kspec.image(spec, "pause")
    labels = {"app.kubernetes.io/name": "secrets-sync", "app.kubernetes.io/part-of": "intershop-caas"}
    return k8s.apps.v1.Deployment(
        f"{name}-secrets-sync",
        metadata=metadata("secrets-sync", labels=labels),
        spec=k8s.apps.v1.DeploymentSpecArgs(
            replicas=1,
            selector=meta.LabelSelectorArgs(match_labels=labels),
            template=core.PodTemplateSpecArgs(
                metadata=meta.ObjectMetaArgs(labels=labels),
                spec=core.PodSpecArgs(
                    service_account_name=layer.SYNC_SERVICE_ACCOUNT,
                    automount_service_account_token=False,
                    security_context=core.PodSecurityContextArgs(
                        run_as_non_root=True,
                        run_as_user=65532,
                        seccomp_profile=core.SeccompProfileArgs(type="RuntimeDefault"),
                    ),
                    containers=[
                        core.ContainerArgs(
                            name="pause",
                            image=pulumi.Output.concat(
                                registry_login_server, "/", pause.repository, ":", pause.pinned_tag
                            ),
                            resources=core.ResourceRequirementsArgs(
                                requests={"cpu": "10m", "memory": "16Mi"}, limits={"cpu": "50m", "memory": "32Mi"}
                            ),
                            security_context=core.SecurityContextArgs(
                                allow_privilege_escalation=False,
                                read_only_root_filesystem=True,
                                capabilities=core.CapabilitiesArgs(drop=["ALL"]),
                            ),
                            volume_mounts=[
                                core.VolumeMountArgs(name="key-vault", mount_path="/mnt/key-vault", read_only=True)
                            ],
                        )
                    ],
                    volumes=[
                        core.VolumeArgs(
                            name="key-vault",
                            csi=core.CSIVolumeSourceArgs(
                                driver="secrets-store.csi.k8s.io",
                                read_only=True,
                                volume_attributes={"secretProviderClass": manifests.SECRET_PROVIDER_CLASS},
                            ),
                        )
                    ],
                ),
            ),
        ),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[provider_class])),
    )

"""Pure builders of the Kubernetes objects the layer makes itself (the charts make the rest)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from caas.sections import kubernetes as layer

if TYPE_CHECKING:
    from caas.specs.kubernetes import KubernetesSpec

SECRET_PROVIDER_CLASS = "key-vault"
# Azure Files NFS, as Microsoft recommends for AKS: parallel connections, no reserved source ports.
NFS_MOUNT_OPTIONS = ("nconnect=4", "noresvport", "actimeo=30")


def namespace_labels(spec: KubernetesSpec, workload: layer.Workload) -> dict[str, str]:
    """Who the namespace belongs to, and Pod Security Admission: baseline enforced, restricted reported."""
    labels = {
        "app.kubernetes.io/part-of": "intershop-caas",
        "intershop.com/customer": spec.customer,
        "intershop.com/environment": spec.environment,
        "intershop.com/app": workload.app,
        **system_namespace_labels(),
    }
    if workload.system:
        labels["intershop.com/system"] = workload.system
    return labels


def system_namespace_labels() -> dict[str, str]:
    return {
        "pod-security.kubernetes.io/enforce": "baseline",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/audit": "restricted",
    }


def secret_provider_spec(
    workload: layer.Workload, *, vault_name: str, client_id: str, tenant_id: str
) -> dict[str, Any]:
    """A SecretProviderClass reading the workload's Key Vault secrets with its workload identity and mirroring
    them into Kubernetes Secrets (``secretObjects``) while a pod mounts it. Names only, never values."""
    # The provider's own format: a YAML list of YAML documents, one per Key Vault object.
    objects = "array:\n" + "".join(
        f"  - |\n    objectName: {s.vault_secret}\n    objectType: secret\n" for s in workload.secrets
    )
    secrets: dict[str, list[dict[str, str]]] = {}
    for s in workload.secrets:
        secrets.setdefault(s.secret, []).append({"objectName": s.vault_secret, "key": s.key})
    return {
        "provider": "azure",
        "parameters": {
            "usePodIdentity": "false",
            "clientID": client_id,
            "keyvaultName": vault_name,
            "tenantId": tenant_id,
            "objects": objects,
        },
        "secretObjects": [{"secretName": name, "type": "Opaque", "data": data} for name, data in secrets.items()],
    }


def volume_handle(resource_group: str, account: str, share: str, folder: str | None) -> str:
    """Unique per PersistentVolume, as the Azure Files CSI driver requires: ``rg#account#share[#folder]``."""
    return "#".join(p for p in (resource_group, account, share, folder) if p)


def volume_attributes(resource_group: str, account: str, share: str, folder: str | None) -> dict[str, str]:
    """Static NFS volume of the Azure Files CSI driver: no account key, no account the driver creates."""
    attributes = {
        "resourceGroup": resource_group,
        "storageAccount": account,
        "shareName": share,
        "protocol": "nfs",
    }
    if folder:
        attributes["folderName"] = folder
    return attributes

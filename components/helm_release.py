"""The one way this program installs a Helm chart: ``kubernetes.helm.v3.Release`` with the estate's fixed policy.

Every release (cluster add-ons, workloads) gets an explicit release name (service accounts and Secrets derive
from it, so it must be predictable), the chart version pinned in ``caas:kubernetes.charts``, the chart's
repository from ``caas.sections.kubernetes.CHARTS``, and the same failure handling: atomic installs and upgrades
that roll back and clean up on failure, with ten revisions kept for ``helm rollback``.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from caas.sections import kubernetes as layer

MAX_HISTORY = 10  # revisions kept: enough for `helm rollback` after a bad release, bounded Secret count


def chart_release(
    resource_name: str,
    *,
    chart: str,
    release: str,
    versions: layer.ChartVersions,
    namespace: pulumi.Input[str],
    values: pulumi.Input[dict],
    timeout_seconds: int,
    opts: pulumi.ResourceOptions,
) -> k8s.helm.v3.Release:
    """Release ``release`` of ``chart`` (a key of ``CHARTS``) at its pinned version; ``opts`` names the provider
    and the parent."""
    source = layer.CHARTS[chart]
    return k8s.helm.v3.Release(
        resource_name,
        k8s.helm.v3.ReleaseArgs(
            name=release,
            chart=source.chart,
            version=versions.model_dump(by_alias=True)[chart],
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=source.repo),
            namespace=namespace,
            values=values,
            atomic=True,
            cleanup_on_fail=True,
            max_history=MAX_HISTORY,
            timeout=timeout_seconds,
        ),
        opts=opts,
    )

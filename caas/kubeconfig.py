"""The kubeconfig the Kubernetes provider uses: AKS user credentials made non-interactive. Pure.

With local accounts disabled, AKS hands out an ``exec`` kubeconfig that runs ``kubelogin get-token``, by default
with ``--login devicecode``: a browser prompt that would hang ``pulumi up`` on a build agent. Every kubelogin
user is rewritten to the configured non-interactive login (``azurecli``: the agent's ``az login``, e.g. the
pipeline's service connection; ``workloadidentity``; ``msi``), keeping only the API server's application id.
Tenant and client ids of the interactive flow are dropped; they come from the chosen login.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import yaml

KUBELOGIN_LOGINS = ("azurecli", "workloadidentity", "msi")


class KubeconfigError(ValueError):
    pass


def non_interactive(kubeconfig: str, login: str) -> str:
    """``kubeconfig`` with every kubelogin exec user set to ``kubelogin get-token --login <login>``."""
    if login not in KUBELOGIN_LOGINS:
        raise KubeconfigError(f"unknown kubelogin login '{login}'; allowed: {', '.join(KUBELOGIN_LOGINS)}")
    document = yaml.safe_load(kubeconfig)
    if not isinstance(document, dict) or not document.get("users"):
        raise KubeconfigError("not a kubeconfig: no users")
    for user in document["users"]:
        spec: dict[str, Any] = user.get("user") or {}
        if "token" in spec or "client-key-data" in spec:
            raise KubeconfigError(f"user '{user.get('name')}' carries a static credential; local accounts must be off")
        exec_ = spec.get("exec")
        if not exec_ or exec_.get("command") != "kubelogin":
            raise KubeconfigError(f"user '{user.get('name')}' does not authenticate with kubelogin")
        exec_["args"] = ["get-token", "--login", login, "--server-id", _server_id(exec_.get("args") or [])]
        exec_.pop("env", None)
        # kubectl would otherwise prompt on a terminal; the provider has none.
        exec_["interactiveMode"] = "Never"
    return yaml.safe_dump(document, sort_keys=False)


def _server_id(args: list[str]) -> str:
    for flag, value in pairwise(args):
        if flag == "--server-id":
            return value
    raise KubeconfigError("the kubelogin arguments name no --server-id")

"""cloud-init for the ICM 7.10 hosts: a pure function of the model, tested without Pulumi."""

from __future__ import annotations

import yaml

# Azure's udev rules name data disks by LUN; the Solr index disk is LUN 0.
SOLR_DISK = "/dev/disk/azure/scsi1/lun0"
SOLR_HOME = "/var/solr"
ENVIRONMENT_FILE = "/etc/intershop/environment"
# NFS 4.1 options Microsoft documents for Azure Files; nconnect spreads load over several TCP connections.
NFS_OPTIONS = "vers=4,minorversion=1,sec=sys,nconnect=4,_netdev,nofail"


def cloud_init(
    *, environment: str, system: str, role: str, share_source: str | None, share_path: str, solr_disk: bool
) -> str:
    """The ``#cloud-config`` document of one host.

    ``share_source`` is the NFS export (``<account>.file.core.windows.net:/<account>/<share>``) mounted at
    ``share_path`` (ICM's IS_SHARE); ``solr_disk`` formats and mounts the Solr index disk. The ICM environment
    (environment, system live/edit, role) is written to ``/etc/intershop/environment`` for systemd units
    (``EnvironmentFile=``) and exported to login shells.
    """
    variables = {"ICM_ENVIRONMENT": environment, "ICM_SYSTEM": system, "ICM_ROLE": role}
    mounts: list[list[str]] = []
    document: dict = {}
    if share_source:
        variables["IS_SHARE"] = share_path
        document["package_update"] = True
        document["packages"] = ["nfs-common"]
        mounts.append([share_source, share_path, "nfs", NFS_OPTIONS, "0", "0"])
    if solr_disk:
        document["disk_setup"] = {SOLR_DISK: {"table_type": "gpt", "layout": True, "overwrite": False}}
        document["fs_setup"] = [{"label": "solr", "filesystem": "ext4", "device": SOLR_DISK, "partition": "auto"}]
        mounts.append(["LABEL=solr", SOLR_HOME, "ext4", "defaults,nofail", "0", "2"])
    document["write_files"] = [
        {
            "path": ENVIRONMENT_FILE,
            "permissions": "0644",
            "content": "".join(f"{k}={v}\n" for k, v in variables.items()),
        },
        {
            "path": "/etc/profile.d/intershop.sh",
            "permissions": "0644",
            "content": f"set -a\n. {ENVIRONMENT_FILE}\nset +a\n",
        },
    ]
    if mounts:
        document["mounts"] = mounts
        # cloud-init writes fstab before the packages stage installs nfs-common: mount once more afterwards.
        document["runcmd"] = [*(["mkdir", "-p", m[1]] for m in mounts), ["mount", "-a"]]
    return "#cloud-config\n" + yaml.dump(document, Dumper=_Dumper, sort_keys=False, default_flow_style=False)


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (file contents) as literal blocks, so the document reads like the files it writes."""

    def represent_str(self, data: str) -> yaml.ScalarNode:
        return self.represent_scalar("tag:yaml.org,2002:str", data, style="|" if "\n" in data else None)


_Dumper.add_representer(str, _Dumper.represent_str)

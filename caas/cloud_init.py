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
    if share_source:
        variables["IS_SHARE"] = share_path
    document: dict = {
        "package_update": True,
        "package_upgrade": False,  # patches come from AutomaticByPlatform, not from first boot
        "packages": ["nfs-common"] if share_source else [],
        "write_files": [
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
        ],
        "mounts": [],
        "runcmd": [],
    }
    if share_source:
        document["mounts"].append([share_source, share_path, "nfs", NFS_OPTIONS, "0", "0"])
    if solr_disk:
        document["disk_setup"] = {SOLR_DISK: {"table_type": "gpt", "layout": True, "overwrite": False}}
        document["fs_setup"] = [{"label": "solr", "filesystem": "ext4", "device": SOLR_DISK, "partition": "auto"}]
        document["mounts"].append(["LABEL=solr", SOLR_HOME, "ext4", "defaults,nofail", "0", "2"])
    # cloud-init writes fstab before the packages stage installs nfs-common: mount once more afterwards.
    for mount in document["mounts"]:
        document["runcmd"].append(["mkdir", "-p", mount[1]])
    if document["mounts"]:
        document["runcmd"].append(["mount", "-a"])
    return "#cloud-config\n" + yaml.safe_dump(document, sort_keys=False, default_flow_style=False)

"""cloud-init for the ICM 7.10 hosts: a pure function of the model, tested without Pulumi.

Besides the share mount and the ICM environment, every host is prepared for Intershop's 7.10 deployment
(docs/icm710-release.md lists each item with its source): the service user and group with fixed ids (the NFS
share is shared by numeric id across hosts), the directory layout for versioned releases, the Java runtime on
application servers and Solr hosts, Apache httpd 2.4 on web adapters, file and process limits, chrony on
Azure's PTP host clock, the systemd units the release pipeline restarts and a pinned ORAS CLI to pull releases.
"""

from __future__ import annotations

import yaml

# Azure's udev rules name data disks by LUN; the Solr index disk is LUN 0.
SOLR_DISK = "/dev/disk/azure/scsi1/lun0"
SOLR_HOME = "/var/solr"
ENVIRONMENT_FILE = "/etc/intershop/environment"
# NFS 4.1 options Microsoft documents for Azure Files; nconnect spreads load over several TCP connections.
NFS_OPTIONS = "vers=4,minorversion=1,sec=sys,nconnect=4,_netdev,nofail"

# Service account. NFS with sec=sys checks numeric ids, so every host of a system must give the account the same
# uid/gid; 1500 lies outside Ubuntu's dynamic system (100-999) and first-user (1000+) ranges cloud-init allocates.
SERVICE_USER = "intershop"
SERVICE_GROUP = "intershop"
SERVICE_ID = 1500
# Layout: releases/<version> unpacked from the registry, `current` the symlink the units start from (deploy.sh
# switches it atomically), local logs and scratch space off the share.
ICM_HOME = "/opt/intershop/icm"
RELEASES = f"{ICM_HOME}/releases"
CURRENT = f"{ICM_HOME}/current"
LOG_DIR = "/var/intershop/log"
TEMP_DIR = "/var/intershop/tmp"
# ICM 7.10 LTS runs on Java 11; Ubuntu 22.04's OpenJDK 11 runtime without X11 is enough for a server.
JAVA_PACKAGE = "openjdk-11-jre-headless"
# Solr's production guide asks for at least 65000 open files and processes; ICM's app server gets the same.
NOFILE = 65536
NPROC = 65536
LIMITS_FILE = "/etc/security/limits.d/90-intershop.conf"
# Microsoft's time-sync guide for Linux VMs: chrony on the Hyper-V PTP clock (the udev name of the host clock).
CHRONY_FILE = "/etc/chrony/conf.d/azure-ptp.conf"
CHRONY_CONF = "refclock PHC /dev/ptp_hyperv poll 3 dpoll -2 offset 0 stratum 2\nmakestep 1.0 -1\n"
# ORAS CLI pulls releases from the registry; version and checksum are pinned together.
ORAS_VERSION = "1.2.0"
ORAS_SHA256 = "5b3f1cbb86d869eee68120b9b45b9be983f3738442f87ee5f06b00edd0bab336"
ORAS_URL = (
    f"https://github.com/oras-project/oras/releases/download/v{ORAS_VERSION}/oras_{ORAS_VERSION}_linux_amd64.tar.gz"
)

# Packages every host needs: time sync, the pull tooling (curl, jq for the registry token exchange), NFS client.
BASE_PACKAGES = ["chrony", "curl", "jq", "ca-certificates"]
ROLE_PACKAGES = {
    # Apache httpd 2.4 with its shared modules (ssl, rewrite, headers, ...); the web adapter module and its
    # httpd.conf come with each ICM release.
    "webAdapter": ["apache2"],
    "appServer": [JAVA_PACKAGE],
    "solr": [JAVA_PACKAGE],
}
# The systemd unit(s) each role runs, and the instances cloud-init enables (deploy.sh restarts the same list).
ROLE_UNITS = {"webAdapter": ["icm-wa.service"], "appServer": ["icm-as@1.service"], "solr": ["icm-solr.service"]}


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
    packages = [*BASE_PACKAGES, *ROLE_PACKAGES[role]]
    document: dict = {"package_update": True}
    if share_source:
        variables["IS_SHARE"] = share_path
        packages.append("nfs-common")
        mounts.append([share_source, share_path, "nfs", NFS_OPTIONS, "0", "0"])
    document["packages"] = packages
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
        {"path": LIMITS_FILE, "permissions": "0644", "content": limits()},
        {"path": CHRONY_FILE, "permissions": "0644", "content": CHRONY_CONF},
        *(
            {"path": f"/etc/systemd/system/{name}", "permissions": "0644", "content": text}
            for name, text in units(role, share_path if share_source else None).items()
        ),
    ]
    if mounts:
        document["mounts"] = mounts
    document["runcmd"] = runcmd(role, [m[1] for m in mounts])
    return "#cloud-config\n" + yaml.dump(document, Dumper=_Dumper, sort_keys=False, default_flow_style=False)


def limits() -> str:
    """pam_limits for the service user's login sessions; services get the same values from their units."""
    return "".join(
        f"{SERVICE_USER} {kind} {item} {value}\n"
        for item, value in (("nofile", NOFILE), ("nproc", NPROC))
        for kind in ("soft", "hard")
    )


def units(role: str, share_path: str | None) -> dict[str, str]:
    """The role's systemd unit (file name -> text). A unit starts from ``current`` only once a release is there
    (``ConditionPathExists``), so a fresh host boots cleanly before its first deployment."""
    needs = "network-online.target remote-fs.target"
    mounts = f"RequiresMountsFor={share_path}\n" if share_path else ""
    common = f"EnvironmentFile={ENVIRONMENT_FILE}\nLimitNOFILE={NOFILE}\nLimitNPROC={NPROC}\n"
    if role == "webAdapter":
        # httpd starts as root to bind port 80 and drops to the service user (User/Group in the release's
        # httpd.conf), as Apache is designed to.
        return {
            "icm-wa.service": _unit(
                "ICM 7.10 web adapter (Apache httpd)",
                needs,
                mounts,
                f"Type=simple\n{common}"
                f"ExecStart=/usr/sbin/apache2 -DFOREGROUND -d {CURRENT}/webadapter -f conf/httpd.conf\n"
                "ExecReload=/bin/kill -USR1 $MAINPID\n",
            )
        }
    if role == "appServer":
        # A template: ICM can run several application server instances on one host; %i is the instance.
        return {
            "icm-as@.service": _unit(
                "ICM 7.10 application server %i",
                needs,
                mounts,
                f"Type=simple\nUser={SERVICE_USER}\nGroup={SERVICE_GROUP}\n{common}"
                "Environment=ICM_AS_INSTANCE=%i\n"
                f"ExecStart={CURRENT}/bin/appserver %i\nTimeoutStopSec=120\n",
            )
        }
    return {
        "icm-solr.service": _unit(
            "ICM 7.10 Solr search",
            needs,
            f"RequiresMountsFor={SOLR_HOME}\n",
            f"Type=simple\nUser={SERVICE_USER}\nGroup={SERVICE_GROUP}\n{common}"
            f"Environment=SOLR_HOME={SOLR_HOME}/data\n"
            f"ExecStart={CURRENT}/solr/bin/solr start -f -s {SOLR_HOME}/data\n",
        )
    }


def _unit(description: str, needs: str, mounts: str, service: str) -> str:
    return (
        f"[Unit]\nDescription={description}\nWants=network-online.target\nAfter={needs}\n{mounts}"
        f"ConditionPathExists={CURRENT}\n\n"
        f"[Service]\n{service}Restart=on-failure\nRestartSec=10\n\n"
        "[Install]\nWantedBy=multi-user.target\n"
    )


def runcmd(role: str, mount_points: list[str]) -> list[list[str] | str]:
    """Final-stage commands, in order: account, mounts, directories, time sync, ORAS, units.

    cloud-init writes fstab before the packages stage installs nfs-common, so the mounts are mounted once more
    here. The account is created here rather than with ``users:`` (which would drop Azure's admin user unless
    ``default`` is listed, and cannot fix the group id).
    """
    dirs = [RELEASES, LOG_DIR, TEMP_DIR]
    commands: list[list[str] | str] = [
        f"getent group {SERVICE_GROUP} || groupadd --system --gid {SERVICE_ID} {SERVICE_GROUP}",
        f"getent passwd {SERVICE_USER} || useradd --system --uid {SERVICE_ID} --gid {SERVICE_GROUP} "
        f"--home-dir /opt/intershop --no-create-home --shell /usr/sbin/nologin {SERVICE_USER}",
        *(["mkdir", "-p", p] for p in mount_points),
    ]
    if mount_points:
        commands.append(["mount", "-a"])
    if role == "solr":
        dirs.append(f"{SOLR_HOME}/data")
    commands += [
        ["mkdir", "-p", *dirs],
        ["chown", f"{SERVICE_USER}:{SERVICE_GROUP}", *dirs],
        ["systemctl", "restart", "chrony"],
        f"curl -fsSL -o /tmp/oras.tar.gz {ORAS_URL}"
        f" && echo '{ORAS_SHA256}  /tmp/oras.tar.gz' | sha256sum -c -"
        " && tar -xzf /tmp/oras.tar.gz -C /usr/local/bin oras && rm -f /tmp/oras.tar.gz",
    ]
    if role == "webAdapter":
        # The distribution's apache2.service would hold port 80 with Ubuntu's default site.
        commands.append(["systemctl", "disable", "--now", "apache2.service"])
    commands += [["systemctl", "daemon-reload"], ["systemctl", "enable", *ROLE_UNITS[role]]]
    return commands


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (file contents) as literal blocks, so the document reads like the files it writes."""

    def represent_str(self, data: str) -> yaml.ScalarNode:
        return self.represent_scalar("tag:yaml.org,2002:str", data, style="|" if "\n" in data else None)


_Dumper.add_representer(str, _Dumper.represent_str)

"""Data exchange: the customer's SFTP host, one user and container per environment, keys only."""

from __future__ import annotations

import base64
import hashlib

from caas.runbooks.changes import through_deploy
from caas.runbooks.context import MACHINE, Context
from caas.runbooks.markdown import Outcome, Section, Shell, Step, code, fence, table
from caas.sections.connectivity import SSH_KEY_TYPES, SftpEndpoint, SftpService, SshPublicKey
from caas.specs import derive


def fingerprint(key: SshPublicKey) -> str:
    """What `ssh-keygen -lf key.pub` prints as the key's fingerprint: SHA256 of the key blob, unpadded base64."""
    digest = hashlib.sha256(base64.b64decode(key.data)).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def data_exchange(ctx: Context) -> Section | None:
    cfg = ctx.cfg
    service = derive(cfg).sftp_service if cfg.is_shared else (derive(ctx.shared).sftp_service if ctx.shared else None)
    if service is None:
        return None
    if cfg.is_shared:
        endpoints = list(service.endpoints.values())
    elif derive(cfg).sftp_endpoint is not None and cfg.environment in service.endpoints:
        endpoints = [service.endpoints[cfg.environment]]
    else:
        return None
    facts = _facts(ctx, service, endpoints)
    steps = _steps(ctx, service, endpoints[0]) if not cfg.is_shared else ()
    return Section("data-exchange", "Data exchange (SFTP)", facts, tuple(steps))


def _facts(ctx: Context, service: SftpService, endpoints: list[SftpEndpoint]) -> str:
    hk = service.housekeeping
    sources = ", ".join(code(r) for r in service.allowed_source_ranges) or "none: only from inside the environments"
    rows = [
        ("Host", f"{code(service.host)}, port {service.port}"),
        ("Reachable from the internet", sources),
        (
            "Reachable inside the environments",
            "through the private endpoint in the hub (over each environment's peering), same host name",
        ),
        (
            "Folders",
            f"{code('import/')} files deleted {hk.import_days} days, {code('export/')} {hk.export_days} "
            "days after their last change; anything else in the container is kept",
        ),
        (
            "Authentication",
            f"SSH public keys only ({', '.join(code(t) for t in SSH_KEY_TYPES)}; RSA 2048 bits or more), no passwords",
        ),
    ]
    users = [
        (
            code(e.environment),
            code(e.user),
            code(e.login(service.account)),
            code(e.container),
            ", ".join(f"{code(k.comment or k.algorithm)} {code(fingerprint(k))}" for k in service.keys[e.environment]),
        )
        for e in endpoints
    ]
    return (
        "Files are exchanged over SFTP with the customer's storage account in the shared stack. Each environment "
        "has its own user, which sees only its own container.\n\n"
        + table(("Fact", "Value"), rows)
        + "\n"
        + table(("Environment", "User", "Login", "Home (container)", "Keys on record"), users)
        + f"\nThe same facts, once deployed: {code(ctx.output('sftp', shared=True, as_json=True))}.\n"
    )


def _steps(ctx: Context, service: SftpService, endpoint: SftpEndpoint) -> list[Step]:
    env = endpoint.environment
    keyfile = f"~/.ssh/{ctx.cfg.customer.code}-{env}-sftp"
    snippet = (
        "caas:sftp:\n  allowedSourceRanges:\n"
        + "".join(f"    - {r}\n" for r in service.allowed_source_ranges)
        + f"  users:\n    {env}:\n      sshPublicKeys:\n"
        + "".join(f"        - {k.algorithm} {k.data[:16]}… {k.comment}\n" for k in service.keys[env])
    )
    login = endpoint.login(service.account)
    return [
        Step(
            title="Create a key pair and hand over the public key",
            who="partner engineer",
            where=MACHINE,
            why="Azure's SFTP accepts ECDSA (nistp256, nistp384) and RSA keys, not Ed25519. Send the `.pub` file to "
            "the platform engineer with your public egress addresses; the private key never leaves your machine.",
            command=Shell(
                f'ssh-keygen -t ecdsa -b 256 -C "{ctx.cfg.customer.code}-{env}-sftp" -f {keyfile}\n'
                f"ssh-keygen -lf {keyfile}.pub"
            ),
            expected=Outcome(
                "the key's fingerprint (`256 SHA256:…`); it appears under Keys on record once registered."
            ),
            rollback="delete the key pair; nothing was registered yet.",
        ),
        *through_deploy(
            ctx,
            "shared",
            title=f"Register the {env} SFTP key and the partner's addresses",
            why=f"In {code(ctx.stack_path('shared'))} add the key under "
            f"{code(f'caas:sftp.users.{env}.sshPublicKeys')} and the egress ranges under "
            f"{code('caas:sftp.allowedSourceRanges')} (keys shortened here):\n\n" + fence(snippet.rstrip(), "yaml"),
            branch=f"sftp/{env}-keys",
            effect="the local user's keys (and the account's network rules) change",
        ),
        Step(
            title="Log in and create the folders",
            who="partner engineer",
            where=MACHINE,
            why="Check the host key against Microsoft's published list (Host keys for SFTP support for Azure Blob "
            "Storage) on first connect. Housekeeping applies to the two folders only.",
            command=Shell(f"sftp -i {keyfile} {login}\nmkdir import\nmkdir export\nls"),
            expected=Outcome(
                "`ls` lists `export` and `import`. A disconnect right after the key exchange "
                "(`Received disconnect … 11`) means your source address is not in the allowed ranges."
            ),
            rollback="`rmdir import` and `rmdir export` while they are empty.",
        ),
    ]

"""The environment's public Azure DNS zone (a subdomain the customer delegates to it) with one record per
hostname inside it, pointing at the active public entry."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure_native

from caas.specs.dns import PublicDnsSpec
from caas.specs.site import Site

dns = azure_native.dns


@dataclass
class PublicDnsArgs:
    site: Site
    spec: PublicDnsSpec
    resource_group_name: pulumi.Input[str]
    # The public entry clients should reach (the active site's, once DR activation can switch it); None while
    # caas:publicEntry.enabled is off: the zone exists (delegation can be done early) but holds no records.
    entry_ip: pulumi.Input[str] | None


class PublicDns(pulumi.ComponentResource):
    """``intershop:caas:PublicDns``: the zone and an A record set per hostname under it (TTL from the model).

    Hostnames outside the zone get nothing here; ``outside`` lists them for the plan and the runbook.
    """

    def __init__(self, name: str, args: PublicDnsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("intershop:caas:PublicDns", name, None, opts)
        spec, rg = args.spec, args.resource_group_name
        # Public zones are global; a deleted zone loses its name servers, so the delegation breaks: protected
        # with the site's other stateful resources.
        self.zone = dns.Zone(
            f"{name}-zone",
            dns.ZoneArgs(
                zone_name=spec.zone,
                resource_group_name=rg,
                location="global",
                zone_type=dns.ZoneType.PUBLIC,
                tags=args.site.tags,
            ),
            opts=pulumi.ResourceOptions(parent=self, protect=args.site.protect),
        )
        self.records: dict[str, dns.RecordSet] = {}
        if args.entry_ip is not None:
            for record in spec.records:
                self.records[record.hostname] = dns.RecordSet(
                    f"{name}-{record.role.replace('.', '-')}",
                    dns.RecordSetArgs(
                        zone_name=self.zone.name,
                        resource_group_name=rg,
                        relative_record_set_name=record.name,
                        record_type=record.type,
                        ttl=spec.ttl,
                        a_records=[dns.ARecordArgs(ipv4_address=args.entry_ip)],
                        metadata={"role": record.role},
                    ),
                    opts=pulumi.ResourceOptions(parent=self),
                )
        # What the parent zone's owner enters as NS records for the subdomain (runbook "DNS delegation").
        self.name_servers = self.zone.name_servers
        self.facts = {
            "zone": spec.zone,
            "nameServers": self.name_servers,
            "ttl": spec.ttl,
            "records": {r.hostname: r.name for r in spec.records} if args.entry_ip is not None else {},
            "outsideZone": list(spec.outside),
        }
        self.register_outputs({"zoneId": self.zone.id, "nameServers": self.name_servers})

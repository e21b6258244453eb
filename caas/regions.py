"""The Azure regions the platform knows, one row each: short code, EU membership, zones and pair.

Sources (learn.microsoft.com): "Azure regions list" (availability zones), "Azure region pairs and nonpaired
regions" (where geo-redundant backups go), CAF "Abbreviation examples" (short codes). GDPR: customer data stays
in EU regions unless a stack explicitly waives it (caas:location.allowOutsideEu).
"""

from __future__ import annotations

from typing import NamedTuple


class Region(NamedTuple):
    code: str  # short form in physical names
    eu: bool
    zones: bool  # has availability zones
    pair: str | None  # paired region (geo-redundant backups); None: a nonpaired region


REGIONS: dict[str, Region] = {
    "westeurope": Region("weu", eu=True, zones=True, pair="northeurope"),
    "northeurope": Region("neu", eu=True, zones=True, pair="westeurope"),
    "francecentral": Region("frc", eu=True, zones=True, pair="francesouth"),
    "francesouth": Region("frs", eu=True, zones=False, pair="francecentral"),
    "germanywestcentral": Region("gwc", eu=True, zones=True, pair="germanynorth"),
    "germanynorth": Region("gno", eu=True, zones=False, pair="germanywestcentral"),
    "swedencentral": Region("sdc", eu=True, zones=True, pair="swedensouth"),
    "swedensouth": Region("sds", eu=True, zones=False, pair="swedencentral"),
    "italynorth": Region("itn", eu=True, zones=True, pair=None),
    "polandcentral": Region("plc", eu=True, zones=True, pair=None),
    "spaincentral": Region("spc", eu=True, zones=True, pair=None),
    "switzerlandnorth": Region("szn", eu=False, zones=True, pair="switzerlandwest"),
    "norwayeast": Region("nwe", eu=False, zones=True, pair="norwaywest"),
    "uksouth": Region("uks", eu=False, zones=True, pair="ukwest"),
    "eastus": Region("eus", eu=False, zones=True, pair="westus"),
    "eastus2": Region("eus2", eu=False, zones=True, pair="centralus"),
    "westus3": Region("wus3", eu=False, zones=True, pair="eastus"),
}

REGION_CODES: dict[str, str] = {name: r.code for name, r in REGIONS.items()}
EU_REGIONS = frozenset(name for name, r in REGIONS.items() if r.eu)
ZONAL_REGIONS = frozenset(name for name, r in REGIONS.items() if r.zones)
PAIRED_REGIONS: dict[str, str | None] = {name: r.pair for name, r in REGIONS.items()}

# Regions where Azure Backup for AKS keeps backups in the operational (snapshot) tier only, no vault tier
# (learn.microsoft.com/azure/backup/azure-kubernetes-service-cluster-backup-support-matrix, "Supported regions").
AKS_BACKUP_OPERATIONAL_ONLY = frozenset({"israelcentral", "polandcentral", "spaincentral"})

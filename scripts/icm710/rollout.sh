#!/usr/bin/env bash
# Rolls one ICM 7.10 release over the hosts of one system, one host at a time; runs on the build agent inside
# AzureCLI@2 (signed in as the service connection's identity).
#
#   rollout.sh <hosts.tsv> <login-server> <repository> <version> <digest>
#
# hosts.tsv is `python -m caas hosts --stack S --system X --format tsv`. Per host: drain (web adapters leave the
# load balancer's backend pool), deploy through Run Command, health check (deploy.sh's), re-add. On failure the
# host is rolled back; it rejoins the pool only if the rollback is healthy, and the rollout stops either way.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DEPLOY="${HERE}/deploy.sh"
# Established flows finish before the host restarts (the load balancer's probe no longer matters once the NIC
# has left the pool; new flows stop at once).
DRAIN_SECONDS="${DRAIN_SECONDS:-30}"

log() { printf '##[section]%s\n' "$*"; }

# Runs deploy.sh on the VM; Run Command does not return the script's exit code, so its last line decides.
on_host() {
  local group="$1" vm="$2" output
  shift 2
  output="$(az vm run-command invoke --resource-group "${group}" --name "${vm}" --command-id RunShellScript \
    --scripts "@${DEPLOY}" --parameters "$@" --query 'value[0].message' --output tsv)"
  printf '%s\n' "${output}"
  grep -q '^ICM710-RESULT: ok$' <<<"${output}"
}

pool() {
  local action="$1" group="$2" nic="$3" ip_config="$4" lb="$5" backend="$6"
  az network nic ip-config address-pool "${action}" --resource-group "${group}" --nic-name "${nic}" \
    --ip-config-name "${ip_config}" --lb-name "${lb}" --address-pool "${backend}" --output none
}

main() {
  [[ $# -eq 5 ]] || { echo "usage: rollout.sh <hosts.tsv> <login-server> <repository> <version> <digest>" >&2; return 2; }
  local hosts="$1" server="$2" repository="$3" version="$4" digest="$5"
  local system role vm group nic ip_config lb backend
  [[ -s "${hosts}" ]] || { echo "no hosts in ${hosts}" >&2; return 1; }
  while IFS=$'\t' read -r system role vm group nic ip_config lb backend <&3; do
    log "${system}/${role} ${vm}: ${version}"
    if [[ "${backend}" != "-" ]]; then
      pool remove "${group}" "${nic}" "${ip_config}" "${lb}" "${backend}"
      sleep "${DRAIN_SECONDS}"
    fi
    if on_host "${group}" "${vm}" deploy "${server}" "${repository}" "${version}" "${digest}"; then
      [[ "${backend}" == "-" ]] || pool add "${group}" "${nic}" "${ip_config}" "${lb}" "${backend}"
      continue
    fi
    echo "##vso[task.logissue type=error]${vm}: ${version} failed its health check; rolling back"
    if on_host "${group}" "${vm}" rollback; then
      [[ "${backend}" == "-" ]] || pool add "${group}" "${nic}" "${ip_config}" "${lb}" "${backend}"
    else
      echo "##vso[task.logissue type=error]${vm}: rollback unhealthy; the host stays out of the load balancer"
    fi
    return 1
  done 3<"${hosts}"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi

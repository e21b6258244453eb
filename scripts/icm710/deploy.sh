#!/usr/bin/env bash
# Deploys one ICM 7.10 release on THIS host; the release pipeline runs it as root through
# `az vm run-command invoke --command-id RunShellScript --scripts @deploy.sh --parameters ...`.
#
#   deploy.sh deploy <login-server> <repository> <version> <digest>   pull, switch `current`, restart, check
#   deploy.sh rollback                                                 back to the previous release, restart, check
#   deploy.sh status                                                   current/previous release and unit state
#
# Run Command reports success whatever the exit code, so the last line is always `ICM710-RESULT: ok|failed`,
# which the pipeline reads. Layout and units come from the host's cloud-init (caas/cloud_init.py).
set -euo pipefail

ROOT="${ICM_ROOT:-}"                      # tests point this at a temporary directory
ICM_HOME="${ROOT}/opt/intershop/icm"
RELEASES="${ICM_HOME}/releases"
CURRENT="${ICM_HOME}/current"
PREVIOUS="${ICM_HOME}/previous"
ENVIRONMENT_FILE="${ROOT}/etc/intershop/environment"
KEEP_RELEASES="${KEEP_RELEASES:-3}"
HEALTH_TIMEOUT="${HEALTH_TIMEOUT:-600}"   # seconds; an ICM application server takes minutes to start
HEALTH_INTERVAL="${HEALTH_INTERVAL:-10}"
SERVICE_USER="intershop"
# ACR accepts an Entra ID token for Azure Resource Manager in its token exchange (the VM's managed identity).
IMDS_TOKEN_URL="http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com/"
ACR_USER="00000000-0000-0000-0000-000000000000"

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# The host's role (webAdapter, appServer, solr), as cloud-init wrote it.
role() {
  # shellcheck disable=SC1090
  (. "${ENVIRONMENT_FILE}" && printf '%s\n' "${ICM_ROLE}")
}

# The units of a role; keep in step with ROLE_UNITS in caas/cloud_init.py.
units_of() {
  case "$1" in
    webAdapter) echo "icm-wa.service" ;;
    appServer) echo "icm-as@1.service" ;;
    solr) echo "icm-solr.service" ;;
    *) log "unknown role: $1"; return 1 ;;
  esac
}

# A version becomes one directory name: no path separators, no leading dot.
check_version() {
  [[ "$1" =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || { log "bad version: $1"; return 1; }
}

# Point `link` at `target` atomically: a new symlink renamed over the old one (rename(2) is atomic).
switch_link() {
  local target="$1" link="$2"
  ln -sfn "${target}" "${link}.new"
  mv -Tf "${link}.new" "${link}"
}

# `current` -> releases/<version>; the release it replaces becomes `previous` (the rollback target).
activate() {
  local version="$1" target="${RELEASES}/$1"
  [[ -d "${target}" ]] || { log "no release ${version} in ${RELEASES}"; return 1; }
  if [[ -L "${CURRENT}" ]]; then
    local old
    old="$(readlink "${CURRENT}")"
    [[ "${old}" == "${target}" ]] || switch_link "${old}" "${PREVIOUS}"
  fi
  switch_link "${target}" "${CURRENT}"
}

# Swap back to `previous`; the failed release stays on disk for inspection, and `previous` is consumed so a
# second rollback cannot flip forward again.
revert() {
  [[ -L "${PREVIOUS}" ]] || { log "no previous release to roll back to"; return 1; }
  switch_link "$(readlink "${PREVIOUS}")" "${CURRENT}"
  rm -f "${PREVIOUS}"
}

# Keep the newest KEEP_RELEASES releases plus whatever `current` and `previous` point at.
prune() {
  local keep=() dir
  [[ -L "${CURRENT}" ]] && keep+=("$(readlink "${CURRENT}")")
  [[ -L "${PREVIOUS}" ]] && keep+=("$(readlink "${PREVIOUS}")")
  while IFS= read -r dir; do
    keep+=("${dir}")
  done < <(find "${RELEASES}" -mindepth 1 -maxdepth 1 -type d -printf '%T@ %p\n' | sort -rn | head -n "${KEEP_RELEASES}" | cut -d' ' -f2-)
  while IFS= read -r dir; do
    [[ " ${keep[*]} " == *" ${dir} "* ]] || { log "pruning ${dir}"; rm -rf "${dir}"; }
  done < <(find "${RELEASES}" -mindepth 1 -maxdepth 1 -type d)
}

# Signs oras in to the registry with the VM's managed identity (needs AcrPull on the registry).
registry_login() {
  local server="$1" aad refresh
  aad="$(curl -fsS -H Metadata:true "${IMDS_TOKEN_URL}" | jq -r .access_token)"
  refresh="$(curl -fsS -X POST "https://${server}/oauth2/exchange" \
    --data-urlencode grant_type=access_token --data-urlencode "service=${server}" \
    --data-urlencode "access_token=${aad}" | jq -r .refresh_token)"
  printf '%s' "${refresh}" | oras login "${server}" --username "${ACR_USER}" --password-stdin >/dev/null
}

# Pulls <server>/<repository>@<digest> (the tag is only a label) and unpacks it into releases/<version>.
fetch() {
  local server="$1" repository="$2" version="$3" digest="$4" work
  [[ "${digest}" =~ ^sha256:[0-9a-f]{64}$ ]] || { log "bad digest: ${digest}"; return 1; }
  if [[ -d "${RELEASES}/${version}" ]]; then
    log "release ${version} already on the host"
    return 0
  fi
  registry_login "${server}"
  work="$(mktemp -d "${RELEASES}/.pull-XXXXXX")"
  oras pull "${server}/${repository}@${digest}" --output "${work}/artifact"
  mkdir "${work}/tree"
  tar -xzf "${work}"/artifact/*.tar.gz -C "${work}/tree"
  chown -R "${SERVICE_USER}:${SERVICE_USER}" "${work}/tree"
  mv -T "${work}/tree" "${RELEASES}/${version}"
  rm -rf "${work}"
}

restart() {
  local unit
  for unit in $(units_of "$1"); do
    log "restarting ${unit}"
    systemctl restart "${unit}"
  done
}

# One health probe of the role. Web adapter: httpd answers on port 80 with anything below 500 (a 5xx means no
# app server behind it). Solr: its documented system-info API. App server: ICM 7.10 documents no local status URL
# we could confirm, so the unit must be active and not restarting; a release may name a URL in HEALTH_URL
# (file release.env in its root), which is then checked too.
probe() {
  local role="$1" unit code url=""
  for unit in $(units_of "${role}"); do
    systemctl is-active --quiet "${unit}" || return 1
  done
  case "${role}" in
    webAdapter)
      code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://127.0.0.1:80/ || true)"
      [[ "${code}" =~ ^[1-4][0-9][0-9]$ ]]
      ;;
    solr) curl -fsS -o /dev/null --max-time 5 "http://127.0.0.1:8983/solr/admin/info/system" ;;
    appServer)
      if [[ -f "${CURRENT}/release.env" ]]; then
        url="$(sed -n 's/^HEALTH_URL=//p' "${CURRENT}/release.env")"
      fi
      [[ -z "${url}" ]] || curl -fsS -o /dev/null --max-time 5 "${url}"
      ;;
  esac
}

# Healthy once probes pass three times in a row within HEALTH_TIMEOUT (a unit in a restart loop flickers).
healthy() {
  local role="$1" waited=0 passes=0
  while ((waited < HEALTH_TIMEOUT)); do
    if probe "${role}"; then
      passes=$((passes + 1))
      ((passes < 3)) || return 0
    else
      passes=0
    fi
    sleep "${HEALTH_INTERVAL}"
    waited=$((waited + HEALTH_INTERVAL))
  done
  log "${role} not healthy after ${HEALTH_TIMEOUT}s"
  return 1
}

deploy() {
  local server="$1" repository="$2" version="$3" digest="$4" host_role
  check_version "${version}"
  host_role="$(role)"
  mkdir -p "${RELEASES}"
  fetch "${server}" "${repository}" "${version}" "${digest}"
  activate "${version}"
  restart "${host_role}"
  healthy "${host_role}"
  prune
}

rollback() {
  local host_role
  host_role="$(role)"
  revert
  restart "${host_role}"
  healthy "${host_role}"
}

status() {
  printf 'current=%s\nprevious=%s\n' "$(readlink "${CURRENT}" || echo -)" "$(readlink "${PREVIOUS}" || echo -)"
  # shellcheck disable=SC2046 # one word per unit
  systemctl --no-pager status $(units_of "$(role)") || true
}

main() {
  local command="${1:-}"
  shift || true
  case "${command}" in
    deploy) [[ $# -eq 4 ]] || { log "usage: deploy.sh deploy <login-server> <repository> <version> <digest>"; return 2; } ;;
    rollback | status) [[ $# -eq 0 ]] || { log "usage: deploy.sh ${command}"; return 2; } ;;
    *) log "usage: deploy.sh deploy|rollback|status ..."; return 2 ;;
  esac
  # Not `if "${command}"`: bash ignores errexit inside a function called as a condition.
  trap 'report $?' EXIT
  "${command}" "$@"
}

report() {
  if (($1 == 0)); then echo "ICM710-RESULT: ok"; else echo "ICM710-RESULT: failed"; fi
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi

#!/usr/bin/env bash
# The gateway's certificates in an environment's Key Vault, run by pipelines/estate/certificates.yml inside
# AzureCLI@2 on a hub agent (the vault has no public endpoint) from the repository root:
#   certificates.sh import <certificate> <pfx file>     PFX (full chain and key) from the customer; password: PFX_PASSWORD
#   certificates.sh issue                               policies from the model (python -m caas certificates): create
#                                                       what is missing, update the policy of what exists
#   certificates.sh renew <certificate>                 a new version now, with the model's policy (issuer Unknown:
#                                                       a new CSR; Key Vault only mails the contacts at the trigger)
#   certificates.sh merge <certificate> <signed file>   the customer's CA signed the CSR of `issue`/`renew`
# Environment: FOLDER (customer folder), STACK, CSR_DIR (issue: where CSRs are written for the pipeline artifact);
# with an integrated CA: CA_ACCOUNT_ID, CA_PASSWORD (secret), CA_ORGANIZATION_ID (DigiCert only).
# The deployer holds Key Vault Certificates Officer on the vault: certificates, issuers and contacts, no secrets.
set -euo pipefail
command=$1
manifest=$(.venv/bin/python -m caas certificates --dir "$FOLDER" --stack "$STACK")
vault=$(jq -r .vault <<<"$manifest")
issuer=$(jq -r .issuer <<<"$manifest")

# The model's policy of one certificate, as a file for `--policy @file`.
policy_file() {
  local file
  file=$(mktemp)
  jq --arg name "$1" '.certificates[] | select(.name == $name) | .policy' <<<"$manifest" >"$file"
  [ "$(cat "$file")" != null ] && [ -s "$file" ] || { echo "$1: no policy in the model ($issuer)" >&2; exit 2; }
  echo "$file"
}

# A new certificate (version): ordered from the integrated CA, or a CSR for the customer's CA (issuer Unknown).
create() {
  az keyvault certificate create --vault-name "$vault" --name "$1" --policy "@$2" --output none
  if [ "$issuer" = Unknown ]; then
    az keyvault certificate pending show --vault-name "$vault" --name "$1" --query csr --output tsv \
      | { echo "-----BEGIN CERTIFICATE REQUEST-----"; fold -w 64; echo "-----END CERTIFICATE REQUEST-----"; } \
      >"$CSR_DIR/$1.csr"
    echo "$1: CSR in the pipeline artifact; merge the signed certificate with action merge"
  else
    echo "$1: ordered from $issuer"
  fi
}

case $command in
  import)
    az keyvault certificate import --vault-name "$vault" --name "$2" \
      --file "$3" --password "$PFX_PASSWORD" --query "x509ThumbprintHex" --output tsv
    ;;
  issue)
    if [ "$issuer" = imported ]; then
      echo "caas:publicEntry.issuance.issuer is imported in $STACK: import each PFX instead (action import)" >&2
      exit 2
    fi
    # Who Key Vault mails (EmailContacts actions, renewal results): the environment's alert receivers.
    for email in $(jq -r '.contacts[]' <<<"$manifest"); do
      az keyvault certificate contact add --vault-name "$vault" --email "$email" --output none
    done
    provider=$(jq -r '.issuerProvider // empty' <<<"$manifest")
    if [ -n "$provider" ] && ! az keyvault certificate issuer show --vault-name "$vault" --issuer-name "$provider" \
        --output none 2>/dev/null; then
      # Key Vault orders and renews from the customer's account with the CA (learn.microsoft.com, "Integrating
      # Key Vault with DigiCert certificate authority"); the password never leaves the secret variable.
      az keyvault certificate issuer create --vault-name "$vault" --issuer-name "$provider" \
        --provider-name "$provider" --account-id "$CA_ACCOUNT_ID" --password "$CA_PASSWORD" \
        ${CA_ORGANIZATION_ID:+--organization-id "$CA_ORGANIZATION_ID"} --output none
    fi
    mkdir -p "$CSR_DIR"
    for name in $(jq -r '.certificates[].name' <<<"$manifest"); do
      policy=$(policy_file "$name")
      if az keyvault certificate show --vault-name "$vault" --name "$name" --output none 2>/dev/null; then
        # An existing certificate keeps its version; the new policy applies from its next renewal.
        az keyvault certificate set-attributes --vault-name "$vault" --name "$name" --policy "@$policy" --output none
        echo "$name: policy updated"
      else
        create "$name" "$policy"
      fi
      rm -f "$policy"
    done
    ;;
  renew)
    mkdir -p "$CSR_DIR"
    policy=$(policy_file "$2")
    create "$2" "$policy"
    rm -f "$policy"
    ;;
  merge)
    az keyvault certificate pending merge --vault-name "$vault" --name "$2" --file "$3" \
      --query "x509ThumbprintHex" --output tsv
    ;;
  *)
    echo "usage: certificates.sh import <certificate> <pfx> | issue | renew <certificate> | merge <certificate> <file>" >&2
    exit 2
    ;;
esac
az keyvault certificate list --vault-name "$vault" --query "[].name" --output tsv | sort

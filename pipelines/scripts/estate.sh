#!/usr/bin/env bash
# The estate's Pulumi commands, run by pipelines/templates/pulumi.yml inside AzureCLI@2 from a customer folder:
#   estate.sh preflight|preview|up <stack>
# Environment: REPO_ROOT, FOLDER (the customer folder, repository-relative), STACK_PREFIX (organization/<project>),
# PULUMI_BACKEND_URL, AZURE_STORAGE_ACCOUNT, SUMMARY_DIR from the template; the az session of AzureCLI@2.
set -euo pipefail
command=$1
stack=$2
qualified="$STACK_PREFIX/$stack"
# `python -m caas` runs from the repository root (where the package is) and is told the customer folder.
caas() { (cd "$REPO_ROOT" && .venv/bin/python -m caas "$@" --dir "$FOLDER"); }

# Every Azure sign-in uses the az session AzureCLI@2 keeps alive (keepAzSessionActive), never a one-shot token
# that would expire during a multi-hour `up`:
# - azure-native: the Azure SDK's default credential chain restricted to the Azure CLI credential
#   (ARM_USE_DEFAULT_AZURE_CREDENTIAL and AZURE_TOKEN_CREDENTIALS=AzureCLICredential; pulumi.com/registry/packages/
#   azure-native/installation-configuration, "Authenticate with Default Azure Credential"). Its plain "Azure CLI"
#   mode, the default when nothing is set, is documented not to work for service principal logins, which is what
#   AzureCLI@2 performs; the SDK's CLI credential asks `az account get-access-token` and works for them.
# - the state backend (azblob) and the Key Vault secrets provider: the same default credential chain.
# - kubelogin: the program writes the AKS kubeconfig with `kubelogin get-token --login azurecli`
#   (caas:kubernetes.kubelogin, caas/kubeconfig.py).
ARM_SUBSCRIPTION_ID=$(az account show --query id --output tsv)
export ARM_SUBSCRIPTION_ID ARM_USE_DEFAULT_AZURE_CREDENTIAL=true AZURE_TOKEN_CREDENTIALS=AzureCLICredential
export PULUMI_SKIP_UPDATE_CHECK=true
# Every preview and up runs the platform's policy pack (policy/, the rules of caas/policy): a mandatory violation
# stops it before Azure is asked for anything. Pulumi creates the pack's virtualenv (policy/venv) on first use.
policy=(--policy-pack "$REPO_ROOT/policy")
pulumi login "$PULUMI_BACKEND_URL"

case $command in
  preflight)
    caas preflight --stack "$stack"
    caas check --stack "$stack"
    ;;
  preview)
    log="$SUMMARY_DIR/preview-$stack.log"
    summary="$SUMMARY_DIR/preview-$stack.md"
    status=0
    pulumi preview --stack "$qualified" "${policy[@]}" --diff --non-interactive --color never 2>&1 | tee "$log" || status=$?
    {
      echo "## pulumi preview: $qualified"
      echo
      echo '```'
      cat "$log"
      echo '```'
    } >"$summary"
    # Logging command: attach the Markdown file to the run's Extensions (summary) tab.
    echo "##vso[task.uploadsummary]$summary"
    exit "$status"
    ;;
  up)
    state="$SUMMARY_DIR/state-$stack.json"
    pulumi stack export --stack "$qualified" --file "$state"
    if [ "$(caas delivery --stack "$stack" --needs-first-phase "$state")" = true ]; then
      # First deploy: the in-cluster layer off, in a throw-away copy of the stack file (the committed file and the
      # stack's saved config keep caas:kubernetes.enabled: true).
      phase1="$SUMMARY_DIR/Pulumi.$stack.phase1.yaml"
      cp "Pulumi.$stack.yaml" "$phase1"
      pulumi config set --config-file "$phase1" --stack "$qualified" --path caas:kubernetes.enabled false
      pulumi up --stack "$qualified" "${policy[@]}" --config-file "$phase1" --yes --non-interactive --color never
    fi
    pulumi up --stack "$qualified" "${policy[@]}" --yes --non-interactive --color never --diff
    git diff --exit-code -- "Pulumi.$stack.yaml"
    ;;
  *)
    echo "usage: estate.sh preflight|preview|up <stack>" >&2
    exit 2
    ;;
esac

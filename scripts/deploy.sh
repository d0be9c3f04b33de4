#!/usr/bin/env bash
# Provision the Azure resources (infra/main.bicep) and deploy the app package to them.
# Step by step, with every setting explained: docs/deploy.md.
#
# Needs: Azure CLI (az), signed in (az login); the .NET SDK; zip.
#
# Settings come from environment variables:
#   RESOURCE_GROUP            (required) resource group to create or update
#   LOCATION                  (required when the group does not exist yet) a Flex Consumption region
#   EMAIL_FROM                (required) sender address (a verified SendGrid sender)
#   FUNCTION_APP_NAME         globally unique app name (default: derived from the group id)
#   STORAGE_ACCOUNT_NAME      globally unique storage account name (default: derived likewise)
#   KEY_VAULT_NAME            globally unique Key Vault name (default: derived likewise)
#   PUBLIC_BASE_URL           base of links in emails (default: https://<app host name>)
#   REQUIRE_ADMIN_APPROVAL    true|false (default false)
#   INVITE_ONLY               true|false (default false)
#   BOOTSTRAP_ADMINS          comma-separated emails that become admins when verified
#   MAXIMUM_INSTANCE_COUNT    Flex Consumption scale-out limit (default 100)
#   VAULT_ADMIN_PRINCIPAL_ID  object id of a user that may set the vault secrets later
#   USER_ASSIGNED_IDENTITY_ID resource id of a user-assigned managed identity for the app
#                             (default: the app's system-assigned identity); storage is reached
#                             with that identity, never with an account key
#   EMAIL_TRANSPORT           SendGrid (default) or Smtp; for Gmail or Microsoft 365 see docs/email.md:
#   SMTP_PRESET               Gmail or Microsoft365
#   SMTP_AUTH                 None, Password or OAuth2 (default OAuth2)
#   SMTP_HOST, SMTP_PORT      when there is no preset, or to override it
#   SMTP_USERNAME             the mailbox (OAuth2) or login (Password)
#   SMTP_OAUTH_CLIENT_ID      the OAuth client id
#   SMTP_OAUTH_TENANT         Microsoft365: the Entra ID tenant id or domain
# Secrets (stored in Key Vault; when one is not given, the vault keeps what it has):
#   SENDGRID_API_KEY          SendGrid API key
#   JWT_SIGNING_KEY_FILE      path of the PEM file of an EC P-256 private key
#   TOKEN_KEY                 base64 of 32 random bytes
#   SMTP_OAUTH_CLIENT_SECRET  with SMTP OAuth2: the client secret    } the app setting is written only
#   SMTP_OAUTH_REFRESH_TOKEN  with SMTP OAuth2: the refresh token    } when given: give them every time
# SENDGRID_API_KEY is not required when EMAIL_TRANSPORT=Smtp.
# On the first deployment of an app all three are required (ALLOW_MISSING_SECRETS=1 skips
# that check, e.g. when the secrets are put into the vault another way).
#
# Options:
#   --infra-only   provision only (no publish, no code deployment)
#   --code-only    publish and deploy the code to an app provisioned before
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

do_infra=1
do_code=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --infra-only) do_code=0 ;;
    --code-only) do_infra=0 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "deploy.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

fail() { echo "deploy.sh: $*" >&2; exit 1; }

command -v az >/dev/null 2>&1 || fail "the Azure CLI (az) is not installed"
az account show --output none 2>/dev/null || fail "not signed in to Azure: run 'az login' first"

: "${RESOURCE_GROUP:?set RESOURCE_GROUP}"
deployment_name="accountfunctions"

is_bool() { [[ "$1" == "true" || "$1" == "false" ]]; }

if [[ $do_infra -eq 1 ]]; then
  : "${EMAIL_FROM:?set EMAIL_FROM (the sender address of every email)}"
  require_admin_approval="${REQUIRE_ADMIN_APPROVAL:-false}"
  invite_only="${INVITE_ONLY:-false}"
  is_bool "$require_admin_approval" || fail "REQUIRE_ADMIN_APPROVAL must be true or false"
  is_bool "$invite_only" || fail "INVITE_ONLY must be true or false"

  group_exists="$(az group exists --name "$RESOURCE_GROUP")"
  if [[ "$group_exists" != "true" ]]; then
    : "${LOCATION:?set LOCATION (the group does not exist yet; see az functionapp list-flexconsumption-locations)}"
  fi

  # 1. Secrets go to az through files (never on the command line, where other users
  #    could read them in the process list). The files hold the exact value, with no
  #    trailing newline.
  secrets_dir="$(umask 077 && mktemp -d)"
  trap 'rm -rf "$secrets_dir"' EXIT
  params=(
    "emailFrom=$EMAIL_FROM"
    "requireAdminApproval=$require_admin_approval"
    "inviteOnly=$invite_only"
  )
  # Not given = the template's default (not the value of the previous deployment).
  [[ -n "${BOOTSTRAP_ADMINS:-}" ]] && params+=("bootstrapAdmins=$BOOTSTRAP_ADMINS")
  [[ -n "${PUBLIC_BASE_URL:-}" ]] && params+=("publicBaseUrl=$PUBLIC_BASE_URL")
  [[ -n "${FUNCTION_APP_NAME:-}" ]] && params+=("functionAppName=$FUNCTION_APP_NAME")
  [[ -n "${STORAGE_ACCOUNT_NAME:-}" ]] && params+=("storageAccountName=$STORAGE_ACCOUNT_NAME")
  [[ -n "${KEY_VAULT_NAME:-}" ]] && params+=("keyVaultName=$KEY_VAULT_NAME")
  [[ -n "${MAXIMUM_INSTANCE_COUNT:-}" ]] && params+=("maximumInstanceCount=$MAXIMUM_INSTANCE_COUNT")
  [[ -n "${VAULT_ADMIN_PRINCIPAL_ID:-}" ]] && params+=("vaultAdminPrincipalId=$VAULT_ADMIN_PRINCIPAL_ID")
  [[ -n "${USER_ASSIGNED_IDENTITY_ID:-}" ]] && params+=("userAssignedIdentityResourceId=$USER_ASSIGNED_IDENTITY_ID")

  email_transport="${EMAIL_TRANSPORT:-SendGrid}"
  [[ "$email_transport" == "SendGrid" || "$email_transport" == "Smtp" ]] || fail "EMAIL_TRANSPORT must be SendGrid or Smtp"
  params+=("emailTransport=$email_transport")
  [[ -n "${SMTP_PRESET:-}" ]] && params+=("smtpPreset=$SMTP_PRESET")
  [[ -n "${SMTP_AUTH:-}" ]] && params+=("smtpAuth=$SMTP_AUTH")
  [[ -n "${SMTP_HOST:-}" ]] && params+=("smtpHost=$SMTP_HOST")
  [[ -n "${SMTP_PORT:-}" ]] && params+=("smtpPort=$SMTP_PORT")
  [[ -n "${SMTP_USERNAME:-}" ]] && params+=("smtpUsername=$SMTP_USERNAME")
  [[ -n "${SMTP_OAUTH_CLIENT_ID:-}" ]] && params+=("smtpOAuthClientId=$SMTP_OAUTH_CLIENT_ID")
  [[ -n "${SMTP_OAUTH_TENANT:-}" ]] && params+=("smtpOAuthTenant=$SMTP_OAUTH_TENANT")
  if [[ -n "${SMTP_OAUTH_CLIENT_SECRET:-}" ]]; then
    (umask 077 && printf '%s' "$SMTP_OAUTH_CLIENT_SECRET" >"$secrets_dir/smtpclientsecret")
    params+=("smtpOAuthClientSecret=@$secrets_dir/smtpclientsecret")
  fi
  if [[ -n "${SMTP_OAUTH_REFRESH_TOKEN:-}" ]]; then
    (umask 077 && printf '%s' "$SMTP_OAUTH_REFRESH_TOKEN" >"$secrets_dir/smtprefreshtoken")
    params+=("smtpOAuthRefreshToken=@$secrets_dir/smtprefreshtoken")
  elif [[ "$email_transport" == "Smtp" && "${SMTP_AUTH:-OAuth2}" == "OAuth2" ]]; then
    fail "EMAIL_TRANSPORT=Smtp with OAuth2 needs SMTP_OAUTH_REFRESH_TOKEN (and SMTP_OAUTH_CLIENT_SECRET) on every deployment (docs/email.md)"
  fi

  missing=()
  if [[ -n "${SENDGRID_API_KEY:-}" ]]; then
    (umask 077 && printf '%s' "$SENDGRID_API_KEY" >"$secrets_dir/sendgrid")
    params+=("sendGridApiKey=@$secrets_dir/sendgrid")
  elif [[ "$email_transport" == "SendGrid" ]]; then
    missing+=(SENDGRID_API_KEY)
  fi
  if [[ -n "${JWT_SIGNING_KEY_FILE:-}" ]]; then
    [[ -f "$JWT_SIGNING_KEY_FILE" ]] || fail "JWT_SIGNING_KEY_FILE: no file at $JWT_SIGNING_KEY_FILE"
    grep -q -- '-----BEGIN .*PRIVATE KEY-----' "$JWT_SIGNING_KEY_FILE" ||
      fail "JWT_SIGNING_KEY_FILE is not a PEM private key"
    params+=("jwtSigningKey=@$JWT_SIGNING_KEY_FILE")
  else
    missing+=(JWT_SIGNING_KEY_FILE)
  fi
  if [[ -n "${TOKEN_KEY:-}" ]]; then
    key_bytes="$(printf '%s' "$TOKEN_KEY" | base64 -d 2>/dev/null | wc -c)" ||
      fail "TOKEN_KEY is not base64"
    [[ "$key_bytes" -eq 32 ]] || fail "TOKEN_KEY must be base64 of 32 bytes (it decodes to $key_bytes)"
    (umask 077 && printf '%s' "$TOKEN_KEY" >"$secrets_dir/tokenkey")
    params+=("tokenKey=@$secrets_dir/tokenkey")
  else
    missing+=(TOKEN_KEY)
  fi

  if [[ ${#missing[@]} -gt 0 ]]; then
    app_exists=0
    if [[ "$group_exists" != "true" ]]; then
      app_exists=0
    elif [[ -n "${FUNCTION_APP_NAME:-}" ]] &&
       az functionapp show --resource-group "$RESOURCE_GROUP" --name "$FUNCTION_APP_NAME" --output none 2>/dev/null; then
      app_exists=1
    elif az deployment group show --resource-group "$RESOURCE_GROUP" --name "$deployment_name" --output none 2>/dev/null; then
      app_exists=1
    fi
    if [[ $app_exists -eq 0 && "${ALLOW_MISSING_SECRETS:-0}" != "1" ]]; then
      fail "first deployment: set ${missing[*]} (see docs/deploy.md), or ALLOW_MISSING_SECRETS=1"
    fi
    echo "note: not given: ${missing[*]}; the Key Vault keeps its current value(s)"
  fi

  # 2. Resource group.
  if [[ "$group_exists" != "true" ]]; then
    echo "== creating resource group $RESOURCE_GROUP in $LOCATION"
    az group create --name "$RESOURCE_GROUP" --location "$LOCATION" --output none
  fi

  # 3. Resources.
  echo "== deploying infra/main.bicep to $RESOURCE_GROUP"
  az deployment group create \
    --resource-group "$RESOURCE_GROUP" \
    --name "$deployment_name" \
    --template-file infra/main.bicep \
    --parameters "${params[@]}" \
    --output none
  rm -rf "$secrets_dir"
fi

output() {
  az deployment group show --resource-group "$RESOURCE_GROUP" --name "$deployment_name" \
    --query "properties.outputs.$1.value" --output tsv
}
app_name="$(output functionAppName)" || fail "no deployment '$deployment_name' in $RESOURCE_GROUP: deploy without --code-only first"
app_url="$(output appUrl)"
[[ -n "$app_name" && -n "$app_url" ]] || fail "the deployment '$deployment_name' has no outputs"

if [[ $do_code -eq 1 ]]; then
  # 4. Package: self-contained linux-x64 ReadyToRun, zipped with the executable bit.
  echo "== publishing"
  scripts/publish.sh

  # 5. Code. On Flex Consumption this goes through the One Deploy endpoint (the classic
  #    zipdeploy is not available there); the package lands in the deployment container.
  echo "== deploying out/accountfunctions.zip to $app_name"
  az functionapp deployment source config-zip \
    --resource-group "$RESOURCE_GROUP" \
    --name "$app_name" \
    --src out/accountfunctions.zip \
    --output none

  # 6. Smoke check: the app answers and publishes its signing keys.
  if command -v curl >/dev/null 2>&1; then
    echo "== waiting for $app_url"
    status=""
    for _ in $(seq 1 40); do
      status="$(curl -s -o /dev/null --max-time 20 -w '%{http_code}' "$app_url/api/.well-known/jwks.json" || true)"
      [[ "$status" == "200" ]] && break
      sleep 5
    done
    if [[ "$status" == "200" ]]; then
      echo "GET /api/.well-known/jwks.json: 200"
    else
      echo "warning: GET /api/.well-known/jwks.json answered '${status:-nothing}' (see docs/deploy.md, Troubleshooting)" >&2
    fi
  fi
fi

echo "function app: $app_name"
echo "app URL:      $app_url"

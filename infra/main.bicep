// Account Functions: everything the app needs in one resource group.
//
//   Flex Consumption (FC1) plan + Function App (runtime "dotnet-isolated" 10.0: the host starts
//   the .NET isolated worker, dotnet AccountFunctions.dll, named in worker.config.json), a StorageV2 account
//   (tables, the email-outbox queue, the deployment package container), Log Analytics +
//   Application Insights, and a Key Vault in RBAC mode for the app's secrets.
//
// Deploy with scripts/deploy.sh (see docs/deploy.md); compile and lint with scripts/bicep.sh.
//
// ---------------------------------------------------------------------------------------
// Storage access: identity-based, no shared keys
// ---------------------------------------------------------------------------------------
// `AzureWebJobsStorage` is not set. The host (SendEmail queue trigger, timer leases, function
// keys) and the app (tables and the email-outbox queue, src/Functions/Hosting/StorageConnection.cs)
// both read the identity-based form of the same setting:
//   AzureWebJobsStorage__accountName = the storage account (https://<name>.<service>.core.windows.net)
//   AzureWebJobsStorage__credential  = managedidentity
//   AzureWebJobsStorage__clientId    = the user-assigned identity's client id (only when one is given)
// The app's identity (system-assigned, or the user-assigned one in userAssignedIdentityResourceId)
// gets the storage data roles below, and Flex Consumption reads the deployment package with the
// same identity. So the account has allowSharedKeyAccess: false and no key is written anywhere:
// Key Vault holds only the app's own secrets (SendGrid, the signing keys, the token key).
// ---------------------------------------------------------------------------------------

targetScope = 'resourceGroup'

@description('Azure region for every resource. It must be one that offers Flex Consumption (az functionapp list-flexconsumption-locations).')
param location string = resourceGroup().location

@description('Function App name: globally unique, it becomes <name>.azurewebsites.net.')
@minLength(2)
@maxLength(60)
param functionAppName string = 'func-accounts-${uniqueString(resourceGroup().id)}'

@description('Storage account name: globally unique, 3-24 lowercase letters and digits.')
@minLength(3)
@maxLength(24)
param storageAccountName string = 'st${uniqueString(resourceGroup().id)}'

@description('Key Vault name: globally unique, 3-24 letters, digits and hyphens.')
@minLength(3)
@maxLength(24)
param keyVaultName string = 'kv-${uniqueString(resourceGroup().id)}'

@description('Upper bound of instances Flex Consumption may scale out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Sender address of every email (Email__From): a verified sender in SendGrid; with Gmail or Microsoft 365, the mailbox or an address it may send as.')
@minLength(3)
param emailFrom string

@description('Base of every link put in an email (Accounts__PublicBaseUrl). Empty: https://<the app default host name>.')
param publicBaseUrl string = ''

@description('New accounts need an admin approval after email confirmation (Accounts__RequireAdminApproval).')
param requireAdminApproval bool = false

@description('Signup needs an invite code (Accounts__InviteOnly).')
param inviteOnly bool = false

@description('Comma-separated emails that become admins when verified (Accounts__BootstrapAdmins).')
param bootstrapAdmins string = ''

@description('SendGrid API key. Empty: the Key Vault secret SendGridApiKey is left as it is (not created, not overwritten).')
@secure()
param sendGridApiKey string = ''

@description('PEM of an EC P-256 private key that signs access tokens. Empty: the Key Vault secret JwtSigningKey is left as it is.')
@secure()
param jwtSigningKey string = ''

@description('During a signing-key rotation: PEM of the key that signed until now (Jwt__PreviousSigningKey). Its tokens stay valid and the JWKS lists it. Empty: no previous key (the app setting is left out).')
@secure()
param jwtPreviousSigningKey string = ''

@description('How email leaves (Email__Transport): SendGrid, or SMTP (e.g. Gmail or Microsoft 365 with OAuth 2.0, docs/email.md).')
@allowed([
  'SendGrid'
  'Smtp'
])
param emailTransport string = 'SendGrid'

@description('With emailTransport Smtp: a preset that fills host, port, TLS, token endpoint and scope (Email__Smtp__Preset). Empty: none (give smtpHost).')
@allowed([
  ''
  'Gmail'
  'Microsoft365'
])
param smtpPreset string = ''

@description('With emailTransport Smtp: how the app signs in to the SMTP server (Email__Smtp__Auth).')
@allowed([
  'None'
  'Password'
  'OAuth2'
])
param smtpAuth string = 'OAuth2'

@description('With emailTransport Smtp: the SMTP host (Email__Smtp__Host). Empty: the preset\'s.')
param smtpHost string = ''

@description('With emailTransport Smtp: the SMTP port (Email__Smtp__Port). 0: the preset\'s.')
@minValue(0)
@maxValue(65535)
param smtpPort int = 0

@description('With emailTransport Smtp: the login; with OAuth2, the mailbox the refresh token was granted for (Email__Smtp__Username).')
param smtpUsername string = ''

@description('With smtpAuth OAuth2: the OAuth client id (Email__Smtp__OAuth__ClientId).')
param smtpOAuthClientId string = ''

@description('With smtpPreset Microsoft365: the Entra ID tenant id or domain in the token endpoint (Email__Smtp__OAuth__Tenant).')
param smtpOAuthTenant string = ''

@description('With smtpAuth OAuth2: the OAuth client secret (Email__Smtp__OAuth__ClientSecret). Empty: the Key Vault secret SmtpOAuthClientSecret is left as it is.')
@secure()
param smtpOAuthClientSecret string = ''

@description('With smtpAuth OAuth2: the refresh token (Email__Smtp__OAuth__RefreshToken), docs/email.md. Empty: the Key Vault secret SmtpOAuthRefreshToken is left as it is.')
@secure()
param smtpOAuthRefreshToken string = ''

@description('Base64 of 32 random bytes (Security__TokenKey). Empty: the Key Vault secret TokenKey is left as it is.')
@secure()
param tokenKey string = ''

@description('Optional resource id of a user-assigned managed identity for the app (storage, Key Vault references, the deployment package). Empty: the app\'s system-assigned identity.')
param userAssignedIdentityResourceId string = ''

@description('Optional object id of a user or group that may read and set the Key Vault secrets later (Key Vault Secrets Officer). Empty: nobody gets that role from this template.')
param vaultAdminPrincipalId string = ''

@description('Principal type of vaultAdminPrincipalId.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param vaultAdminPrincipalType string = 'User'

@description('Days Log Analytics keeps the app logs.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 30

@description('Tags put on every resource.')
param tags object = {}

@description('When the lockout sweep runs (LockoutSweepSchedule): NCRONTAB with seconds. Default: every 5 minutes.')
param lockoutSweepSchedule string = '0 */5 * * * *'

// Built-in role definition ids.
var roleStorageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var roleStorageQueueDataContributor = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
var roleStorageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
var roleKeyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6'
var roleKeyVaultSecretsOfficer = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'

// The identity the app runs as. A placeholder id keeps the expressions below valid when no
// user-assigned identity is given (the existing resource is then never read).
var useUserAssignedIdentity = !empty(userAssignedIdentityResourceId)
var userAssignedIdentityId = useUserAssignedIdentity
  ? userAssignedIdentityResourceId
  : '/subscriptions/${subscription().subscriptionId}/resourceGroups/${resourceGroup().name}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/none'

var suffix = uniqueString(resourceGroup().id)
var deploymentContainerName = 'app-package'
var emailOutboxQueueName = 'email-outbox'

// Secret names in the vault, and the app settings that reference them.
var secretSendGridApiKey = 'SendGridApiKey'
var secretJwtSigningKey = 'JwtSigningKey'
var secretTokenKey = 'TokenKey'
var secretJwtPreviousSigningKey = 'JwtPreviousSigningKey'
var secretSmtpOAuthClientSecret = 'SmtpOAuthClientSecret'
var secretSmtpOAuthRefreshToken = 'SmtpOAuthRefreshToken'

// ---------------------------------------------------------------------------------------
// Monitoring
// ---------------------------------------------------------------------------------------

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-accounts-${suffix}'
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: logRetentionDays
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-accounts-${suffix}'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
  }
}

// ---------------------------------------------------------------------------------------
// Storage
// ---------------------------------------------------------------------------------------

resource storage 'Microsoft.Storage/storageAccounts@2024-01-01' = {
  name: storageAccountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    // Every client uses Entra ID (see the top of this file): no account key works.
    allowSharedKeyAccess: false
    // The portal and tools use Entra ID, not the key, by default.
    defaultToOAuthAuthentication: true
    publicNetworkAccess: 'Enabled'
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2024-01-01' = {
  parent: storage
  name: 'default'
}

// Flex Consumption keeps the deployed package here.
resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2024-01-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2024-01-01' = {
  parent: storage
  name: 'default'
}

// The SendEmail function's trigger queue (the host creates email-outbox-poison itself).
resource emailOutboxQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2024-01-01' = {
  parent: queueService
  name: emailOutboxQueueName
}

// ---------------------------------------------------------------------------------------
// Key Vault (RBAC mode) and secrets
// ---------------------------------------------------------------------------------------

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: keyVaultName
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    publicNetworkAccess: 'Enabled'
  }
}

// The three app secrets are created (or replaced by a new version) only when given, so a
// later deployment without them keeps what the vault holds.
resource sendGridSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(sendGridApiKey)) {
  parent: keyVault
  name: secretSendGridApiKey
  properties: {
    value: sendGridApiKey
    contentType: 'text/plain'
  }
}

resource jwtSigningKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(jwtSigningKey)) {
  parent: keyVault
  name: secretJwtSigningKey
  properties: {
    value: jwtSigningKey
    contentType: 'application/x-pem-file'
  }
}

resource jwtPreviousSigningKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(jwtPreviousSigningKey)) {
  parent: keyVault
  name: secretJwtPreviousSigningKey
  properties: {
    value: jwtPreviousSigningKey
    contentType: 'application/x-pem-file'
  }
}

resource smtpOAuthClientSecretSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(smtpOAuthClientSecret)) {
  parent: keyVault
  name: secretSmtpOAuthClientSecret
  properties: {
    value: smtpOAuthClientSecret
    contentType: 'text/plain'
  }
}

resource smtpOAuthRefreshTokenSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(smtpOAuthRefreshToken)) {
  parent: keyVault
  name: secretSmtpOAuthRefreshToken
  properties: {
    value: smtpOAuthRefreshToken
    contentType: 'text/plain'
  }
}

resource tokenKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(tokenKey)) {
  parent: keyVault
  name: secretTokenKey
  properties: {
    value: tokenKey
    contentType: 'text/plain'
  }
}

// ---------------------------------------------------------------------------------------
// Flex Consumption plan and Function App
// ---------------------------------------------------------------------------------------

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'plan-accounts-${suffix}'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true // Linux
  }
}

resource userAssignedIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = if (useUserAssignedIdentity) {
  name: last(split(userAssignedIdentityId, '/'))
  scope: resourceGroup(split(userAssignedIdentityId, '/')[2], split(userAssignedIdentityId, '/')[4])
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: functionAppName
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: useUserAssignedIdentity
    ? {
        type: 'UserAssigned'
        userAssignedIdentities: {
          '${userAssignedIdentityResourceId}': {}
        }
      }
    : {
        type: 'SystemAssigned'
      }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references are resolved with the app's identity.
    keyVaultReferenceIdentity: useUserAssignedIdentity ? userAssignedIdentityResourceId : 'SystemAssigned'
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: useUserAssignedIdentity
            ? {
                type: 'UserAssignedIdentity'
                userAssignedIdentityResourceId: userAssignedIdentityResourceId
              }
            : {
                type: 'SystemAssignedIdentity'
              }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: 2048
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        // The .NET isolated worker on .NET 10 (the package's worker.config.json names AccountFunctions.dll).
        name: 'dotnet-isolated'
        version: '10.0'
      }
    }
  }
  dependsOn: [
    deploymentContainer
  ]
}

// ---------------------------------------------------------------------------------------
// Role assignments for the app's identity
// ---------------------------------------------------------------------------------------
// Storage Blob Data Owner: the deployment package and the host's blobs (timer and listener
// leases, function keys in azure-webjobs-secrets). Storage Queue Data Contributor: the app
// creates the email-outbox queues and enqueues; the trigger reads, updates (visibility) and
// deletes messages and writes -poison. Its data actions include those of Queue Data Message
// Sender and Message Processor, so those two are not assigned. Storage Table Data Contributor:
// the app's tables (created on first use). Key Vault Secrets User: the Key Vault references.

// Known when the deployment starts (role assignment names must be), unlike the principal id.
var appIdentityKey = useUserAssignedIdentity ? userAssignedIdentityResourceId : functionApp.id
var appPrincipalId = useUserAssignedIdentity
  ? userAssignedIdentity!.properties.principalId
  : functionApp.identity.principalId

resource storageBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, appIdentityKey, roleStorageBlobDataOwner)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleStorageBlobDataOwner)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource storageQueueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, appIdentityKey, roleStorageQueueDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleStorageQueueDataContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource storageTableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, appIdentityKey, roleStorageTableDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleStorageTableDataContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource keyVaultSecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(keyVault.id, appIdentityKey, roleKeyVaultSecretsUser)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleKeyVaultSecretsUser)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource keyVaultSecretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(vaultAdminPrincipalId)) {
  name: guid(keyVault.id, vaultAdminPrincipalId, roleKeyVaultSecretsOfficer)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleKeyVaultSecretsOfficer)
    principalId: vaultAdminPrincipalId
    principalType: vaultAdminPrincipalType
  }
}

// ---------------------------------------------------------------------------------------
// App settings
// ---------------------------------------------------------------------------------------
// A separate resource (not siteConfig.appSettings) so that it can use the app's own default
// host name, and so that it is applied after the identity may read the vault: the
// references then resolve on the first start. This resource owns the whole set of app
// settings: anything set by hand in the portal is replaced on the next deployment.
// Flex Consumption rejects FUNCTIONS_WORKER_RUNTIME and FUNCTIONS_EXTENSION_VERSION: the
// runtime comes from functionAppConfig.runtime above.

var appUrl = 'https://${functionApp.properties.defaultHostName}'

// SMTP settings, only with emailTransport Smtp, each only when given (the app's defaults and
// the preset fill the rest). The two OAuth secrets are Key Vault references only when given,
// as Jwt__PreviousSigningKey is: a reference to a secret that does not exist would leave the
// literal reference text as the value. So pass both on every deployment that should keep
// OAuth working (scripts/deploy.sh takes them from SMTP_OAUTH_CLIENT_SECRET and
// SMTP_OAUTH_REFRESH_TOKEN), or set them in the vault and give them again.
var smtpSettings = emailTransport != 'Smtp' ? {} : union(
  { Email__Smtp__Auth: smtpAuth },
  empty(smtpPreset) ? {} : { Email__Smtp__Preset: smtpPreset },
  empty(smtpHost) ? {} : { Email__Smtp__Host: smtpHost },
  smtpPort == 0 ? {} : { Email__Smtp__Port: string(smtpPort) },
  empty(smtpUsername) ? {} : { Email__Smtp__Username: smtpUsername },
  empty(smtpOAuthClientId) ? {} : { Email__Smtp__OAuth__ClientId: smtpOAuthClientId },
  empty(smtpOAuthTenant) ? {} : { Email__Smtp__OAuth__Tenant: smtpOAuthTenant },
  empty(smtpOAuthClientSecret) ? {} : {
    Email__Smtp__OAuth__ClientSecret: '@Microsoft.KeyVault(SecretUri=${keyVault.properties.vaultUri}secrets/${secretSmtpOAuthClientSecret})'
  },
  empty(smtpOAuthRefreshToken) ? {} : {
    Email__Smtp__OAuth__RefreshToken: '@Microsoft.KeyVault(SecretUri=${keyVault.properties.vaultUri}secrets/${secretSmtpOAuthRefreshToken})'
  }
)

resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: functionApp
  name: 'appsettings'
  properties: union({
    // Identity-based, for the host and the app alike (see the top of this file). No
    // AzureWebJobsStorage value: a value would be taken as a connection string.
    AzureWebJobsStorage__accountName: storage.name
    AzureWebJobsStorage__credential: 'managedidentity'
    APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString

    // Resolved by the host for the SendEmail queue trigger (%EmailOutboxQueue%) and read by the app:
    // both name the same queue. The sweep's timer schedule (%LockoutSweepSchedule%), NCRONTAB with seconds.
    EmailOutboxQueue: emailOutboxQueueName
    LockoutSweepSchedule: lockoutSweepSchedule

    Accounts__PublicBaseUrl: empty(publicBaseUrl) ? appUrl : publicBaseUrl
    Accounts__RequireAdminApproval: requireAdminApproval ? 'true' : 'false'
    Accounts__InviteOnly: inviteOnly ? 'true' : 'false'
    Accounts__BootstrapAdmins: bootstrapAdmins

    Email__Transport: emailTransport
    Email__From: emailFrom

    // Versionless references: a new secret version is picked up without redeploying
    // (within a day, or at once on restart). A secret that does not exist yet leaves the
    // setting unresolved (the literal reference text), so all three must be set before use.
    Email__SendGrid__ApiKey: '@Microsoft.KeyVault(SecretUri=${keyVault.properties.vaultUri}secrets/${secretSendGridApiKey})'
    Jwt__SigningKey: '@Microsoft.KeyVault(SecretUri=${keyVault.properties.vaultUri}secrets/${secretJwtSigningKey})'
    Security__TokenKey: '@Microsoft.KeyVault(SecretUri=${keyVault.properties.vaultUri}secrets/${secretTokenKey})'
  }, useUserAssignedIdentity ? {
    // Which of the app's identities to use: without it the host and the app would ask for a
    // system-assigned identity the app does not have.
    AzureWebJobsStorage__clientId: userAssignedIdentity!.properties.clientId
  } : {}, empty(jwtPreviousSigningKey) ? {} : {
    // Only during a rotation (docs/operations.md): an unset secret would leave the literal reference.
    Jwt__PreviousSigningKey: '@Microsoft.KeyVault(SecretUri=${keyVault.properties.vaultUri}secrets/${secretJwtPreviousSigningKey})'
  }, smtpSettings)
  dependsOn: [
    keyVaultSecretsUser
    storageBlobOwner
    storageQueueContributor
    storageTableContributor
    sendGridSecret
    jwtSigningKeySecret
    jwtPreviousSigningKeySecret
    smtpOAuthClientSecretSecret
    smtpOAuthRefreshTokenSecret
    tokenKeySecret
    emailOutboxQueue
  ]
}

// ---------------------------------------------------------------------------------------
// Outputs
// ---------------------------------------------------------------------------------------

@description('The app URL (https://<default host name>).')
output appUrl string = appUrl

@description('Name of the Function App.')
output functionAppName string = functionApp.name

@description('Name of the storage account.')
output storageAccountName string = storage.name

@description('Principal (object) id of the identity the app runs as, which holds the storage and Key Vault roles.')
output appPrincipalId string = appPrincipalId

@description('Name of the Key Vault holding the app secrets.')
output keyVaultName string = keyVault.name

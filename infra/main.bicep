// Aisoule in one resource group: a Function App on the Flex Consumption plan (.NET 10 isolated), its storage
// account (tables and queues, reached by identity: no shared keys), Key Vault (RBAC mode) for Meta's secrets and
// the access tokens the app stores, Log Analytics + Application Insights, and one user-assigned identity holding
// only the roles assigned at the end of this file. Declared directly: registry modules cannot be fetched here.
// tests/Aisoule.Tests/Infrastructure/Bicep checks the compiled template; README "Deploy to Azure" deploys it.

@description('Short lower-case name the resource names are built from (letters and digits).')
@minLength(3)
@maxLength(11)
param name string = 'aisoule'

@description('Region for every resource; must offer the Flex Consumption plan (az functionapp list-flexconsumption-locations).')
param location string = resourceGroup().location

@description('`cloud` sends through Meta\'s Graph API; `sandbox` answers like Meta without a Meta account.')
@allowed([
  'cloud'
  'sandbox'
])
param whatsAppProvider string = 'cloud'

@description('The Meta app secret, written to Key Vault when given; left empty, the secret already in the vault is kept.')
@secure()
param metaAppSecret string = ''

@description('The webhook verify token chosen in Meta\'s app dashboard, written to Key Vault when given; left empty, the one in the vault is kept.')
@secure()
param metaVerifyToken string = ''

@description('Flex Consumption: the most instances the app scales out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Flex Consumption: memory per instance.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Storage redundancy: Standard_LRS is cheapest; Standard_ZRS survives a zone.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
])
param storageSku string = 'Standard_LRS'

@description('Days Log Analytics keeps logs and telemetry.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 30

var suffix = uniqueString(resourceGroup().id, name)
var storageAccountName = take('${name}${suffix}', 24)
var vaultName = take('kv-${name}-${suffix}', 24)
var appName = 'func-${name}-${suffix}'
var deploymentContainerName = 'app-package'

// Every table and queue the app uses (the logical names in src/, with Storage__Prefix empty in Azure). The app
// also creates a table or queue on first use; declaring them makes a deployment complete and reviewable.
// `secrets` is absent on purpose: it is the local secret store, unused when KeyVault__Uri is set.
var tableNames = [
  'apikeyhashes'
  'apikeys'
  'campaigns'
  'contacts'
  'idempotency'
  'loginfailures'
  'logins'
  'messages'
  'pendingsends'
  'ratelimits'
  'reach'
  'sessions'
  'signupattempts'
  'throughput'
  'waaccounts'
  'wamids'
  'waphonenumbers'
  'watemplates'
  'webhookdeliveries'
  'webhooks'
  'workspaces'
]

// The queue triggers' queues and the sends poison queue the app itself writes and FailPoisonedSend reads. The
// Functions host creates the other `-poison` queues when it first needs one.
var queueNames = [
  'sends'
  'sends-poison'
  'wainbound'
  'campaignsteps'
  'outbox'
  'webhookdeliveries'
]

var appSecretName = 'whatsapp-app-secret'
var verifyTokenName = 'whatsapp-verify-token'

// README "Configuration" keys this template does not set, each deliberately: the app's default is what Azure
// wants, or the key is for a developer's machine only. The Bicep tests fail when a README key is neither set
// below nor listed here.
var settingsLeftToDefault = [
  'Storage__Prefix' // empty: tables and queues carry their plain names
  'port' // local host only
  'LocalHost__TrustedProxies' // local host only; the Functions host takes the address from Azure's front end
  'AzureFunctionsJobHost__extensions__queues__…' // host.json holds the queue settings
  'AISOULE_OWNER_EMAIL' // the first owner is made once by hand (README "Deploy to Azure"), never left set
  'AISOULE_OWNER_PASSWORD'
  'AISOULE_OWNER_WORKSPACE'
  'Identity__SignupEnabled' // off outside Development
  'Identity__SessionIdleTimeout'
  'Identity__SessionLifetime'
  'Identity__LoginFailureLimit'
  'Identity__LoginFailureWindow'
  'Identity__SignupAddressLimit'
  'Identity__SignupTotalLimit'
  'Identity__SignupWindow'
  'Identity__PasswordIterations'
  'RateLimiting__PerMinute'
  'RateLimiting__PerSecond'
  'RateLimiting__Workspaces__{workspace_id}__PerMinute'
  'WhatsApp__GraphBaseUrl'
  'WhatsApp__GraphVersion'
  'WhatsApp__MaxAttempts'
  'WhatsApp__RetryDelay'
  'WhatsApp__MaxRetryDelay'
  'WhatsApp__DisconnectedHold'
  'WhatsApp__ClaimTimeout'
  'WhatsApp__SweepAfter'
  'WhatsApp__MaxDisconnectedHold'
  'WhatsApp__SandboxStatusDelay' // sandbox only
  'WhatsApp__SandboxMessagingLimit' // sandbox only
  'Webhooks__AllowPrivateTargets' // false; the app refuses true outside Development
  'Webhooks__Timeout'
  'Webhooks__RetrySchedule__0'
  'Webhooks__DefaultHostRate'
  'Webhooks__HostRates__{host}'
  'Webhooks__MaxInFlightPerWebhook'
  'Webhooks__StrandedAfter'
  'Secrets__{name}' // development only: Key Vault holds secrets in Azure
]

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: 'id-${name}-${suffix}'
  location: location
}

resource storage 'Microsoft.Storage/storageAccounts@2025-06-01' = {
  name: storageAccountName
  location: location
  kind: 'StorageV2'
  sku: {
    name: storageSku
  }
  properties: {
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowCrossTenantReplication: false
    accessTier: 'Hot'
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2025-06-01' = {
  parent: storage
  name: 'default'
}

// Flex Consumption deploys the app's package here (README "Deploy to Azure").
resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-06-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2025-06-01' = {
  parent: storage
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2025-06-01' = [
  for table in tableNames: {
    parent: tableService
    name: table
  }
]

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2025-06-01' = {
  parent: storage
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2025-06-01' = [
  for queue in queueNames: {
    parent: queueService
    name: queue
  }
]

resource logs 'Microsoft.OperationalInsights/workspaces@2025-02-01' = {
  name: 'log-${name}-${suffix}'
  location: location
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: logRetentionDays
  }
}

// Ingestion only with an Entra token (DisableLocalAuth): the instrumentation key in the connection string then
// admits nothing, and the identity sends with Monitoring Metrics Publisher.
resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-${name}-${suffix}'
  location: location
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logs.id
    DisableLocalAuth: true
  }
}

resource vault 'Microsoft.KeyVault/vaults@2025-05-01' = {
  name: vaultName
  location: location
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
  }
}

resource appSecret 'Microsoft.KeyVault/vaults/secrets@2025-05-01' = if (!empty(metaAppSecret)) {
  parent: vault
  name: appSecretName
  properties: {
    value: metaAppSecret
  }
}

resource verifyToken 'Microsoft.KeyVault/vaults/secrets@2025-05-01' = if (!empty(metaVerifyToken)) {
  parent: vault
  name: verifyTokenName
  properties: {
    value: metaVerifyToken
  }
}

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: 'plan-${name}-${suffix}'
  location: location
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource app 'Microsoft.Web/sites@2025-03-01' = {
  name: appName
  location: location
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identity.id
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identity.id
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'dotnet-isolated'
        version: '10.0'
      }
    }
  }
}

// Publishing goes through Entra ID (func / az with the deployer's sign-in); no basic-auth publishing credentials.
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: app
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: app
  name: 'scm'
  properties: {
    allow: false
  }
}

// The whole set of app settings: a deployment replaces what was there. Flex Consumption takes the runtime from
// functionAppConfig, so FUNCTIONS_WORKER_RUNTIME / FUNCTIONS_EXTENSION_VERSION are not app settings here.
resource appSettings 'Microsoft.Web/sites/config@2025-03-01' = {
  parent: app
  name: 'appsettings'
  properties: {
    // Host and app storage by identity (the Functions docs' identity-based connection): no connection string.
    AzureWebJobsStorage__accountName: storage.name
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identity.properties.clientId
    // DefaultAzureCredential (Key Vault, telemetry) picks the user-assigned identity by this.
    AZURE_CLIENT_ID: identity.properties.clientId
    // Not a secret (Microsoft's docs say so; with local auth disabled it admits nothing without a token).
    APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.properties.clientId};Authorization=AAD'
    AZURE_FUNCTIONS_ENVIRONMENT: 'Production'
    DOTNET_ENVIRONMENT: 'Production'
    KeyVault__Uri: vault.properties.vaultUri
    WhatsApp__Provider: whatsAppProvider
    // Versionless references (trailing slash): a new secret version is picked up when App Service refetches them (about
    // daily, on a configuration change, or on the config-references refresh call the README gives).
    WhatsApp__AppSecret: '@Microsoft.KeyVault(SecretUri=${vault.properties.vaultUri}secrets/${appSecretName}/)'
    WhatsApp__VerifyToken: '@Microsoft.KeyVault(SecretUri=${vault.properties.vaultUri}secrets/${verifyTokenName}/)'
    // The queue and timer triggers' %…% names: the Functions host needs each as a setting.
    SendsQueue: 'sends'
    InboundQueue: 'wainbound'
    CampaignStepsQueue: 'campaignsteps'
    OutboxQueue: 'outbox'
    WebhookDeliveriesQueue: 'webhookdeliveries'
    SendSweepSchedule: '0 * * * * *'
    CampaignWatchSchedule: '*/5 * * * * *'
    TemplateSyncSchedule: '0 0 * * * *'
    AccountRecheckSchedule: '0 */15 * * * *'
    OutboxSweepSchedule: '0 */5 * * * *'
  }
  // The settings start the app: its identity must hold its roles by then, and the secrets its references name must
  // exist (a reference App Service cannot resolve keeps its own text, which the app then treats as no secret).
  dependsOn: [
    tableDataRole
    queueDataRole
    blobDataRole
    vaultRole
    telemetryRole
    appSecret
    verifyToken
  ]
}

// The identity's roles, each assigned on the one resource it is for (never the resource group), with the role's
// built-in id written out (the same in every subscription). The Bicep tests hold this list.

// Storage Table Data Contributor: the app's tables.
resource tableDataRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3')
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3')
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// Storage Queue Data Contributor: the app's queues, and the queue triggers (read, delete, poison queues).
resource queueDataRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, '974c5e8b-45b9-4653-ba55-5f855dd0fb88')
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '974c5e8b-45b9-4653-ba55-5f855dd0fb88')
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// Storage Blob Data Owner: what the Functions host needs on AzureWebJobsStorage (its keys, the timer and singleton
// locks, creating its containers) and what reads the deployment package; the app itself keeps no blobs.
resource blobDataRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b')
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b')
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// Key Vault Secrets Officer, not Secrets User: the app writes secrets (POST /accounts and a new access_token on
// PUT /accounts/{id} store Meta's token as a new secret), and reads them and the two Key Vault references.
resource vaultRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, identity.id, 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7')
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7')
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// Monitoring Metrics Publisher: sending telemetry to Application Insights with an Entra token (local auth is off).
resource telemetryRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, identity.id, '3913510d-42f4-4e42-8a64-420c390055eb')
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '3913510d-42f4-4e42-8a64-420c390055eb')
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

output functionAppName string = app.name
output apiBaseUrl string = 'https://${app.properties.defaultHostName}/api'
output storageAccountName string = storage.name
output vaultName string = vault.name
output vaultUri string = vault.properties.vaultUri
output identityClientId string = identity.properties.clientId
output settingsLeftToDefault array = settingsLeftToDefault

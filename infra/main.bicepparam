using 'main.bicep'

// Parameters for `az deployment group create -f infra/main.bicep -p infra/main.bicepparam` (README "Deploy to
// Azure"). The two Meta secrets come from the environment of the shell that deploys, never from a file: unset,
// they are empty and the secrets already in Key Vault are kept.
param name = 'aisoule'
param whatsAppProvider = 'cloud'
param maximumInstanceCount = 100
param instanceMemoryMB = 2048
param storageSku = 'Standard_LRS'
param logRetentionDays = 30
param metaAppSecret = readEnvironmentVariable('AISOULE_META_APP_SECRET', '')
param metaVerifyToken = readEnvironmentVariable('AISOULE_META_VERIFY_TOKEN', '')

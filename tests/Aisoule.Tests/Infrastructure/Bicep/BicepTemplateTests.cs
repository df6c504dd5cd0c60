using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Aisoule.Core.Messaging;
using Xunit;

namespace Aisoule.Tests.Infrastructure.Bicep;

/// <summary>
/// infra/main.bicep, compiled by the pinned Bicep CLI, keeps our deployment rules: HTTPS and TLS 1.2 only, no shared
/// keys, no secret in an output or a plain app setting, each role on one resource, every README setting accounted
/// for. Each rule is also shown to catch a small template that breaks it.
/// </summary>
public sealed partial class BicepTemplateTests
{
    private static JsonObject Template => BicepCli.MainTemplate;

    [Fact]
    public void Main_bicep_compiles_without_a_warning_and_declares_the_app_on_flex_consumption()
    {
        var plan = Assert.Single(ArmTemplateRules.Resources(Template, "Microsoft.Web/serverfarms"));
        Assert.Equal("FC1", (string?)plan["sku"]?["name"]);
        Assert.Equal("FlexConsumption", (string?)plan["sku"]?["tier"]);

        var site = Assert.Single(ArmTemplateRules.Resources(Template, "Microsoft.Web/sites"));
        var config = site["properties"]!["functionAppConfig"]!;
        Assert.Equal("dotnet-isolated", (string?)config["runtime"]?["name"]);
        Assert.Equal("10.0", (string?)config["runtime"]?["version"]);
        Assert.Equal("UserAssigned", (string?)site["identity"]?["type"]);
        Assert.Equal("UserAssignedIdentity", (string?)config["deployment"]?["storage"]?["authentication"]?["type"]);
        Assert.Contains("userAssignedIdentities", (string?)config["deployment"]?["storage"]?["authentication"]?["userAssignedIdentityResourceId"], StringComparison.Ordinal);
        Assert.Contains("userAssignedIdentities", (string?)site["properties"]!["keyVaultReferenceIdentity"], StringComparison.Ordinal);
    }

    [Fact]
    public void Every_function_app_is_https_only_with_tls_1_2_and_no_ftp()
    {
        Assert.NotEmpty(ArmTemplateRules.Resources(Template, "Microsoft.Web/sites"));
        Assert.Empty(ArmTemplateRules.SiteViolations(Template));

        var broken = Fragment("""{"type":"Microsoft.Web/sites","name":"x","properties":{"httpsOnly":false,"siteConfig":{"minTlsVersion":"1.0","scmMinTlsVersion":"1.2","ftpsState":"AllAllowed"}}}""");
        Assert.Equal(3, ArmTemplateRules.SiteViolations(broken).Count);
    }

    [Fact]
    public void Every_storage_account_refuses_shared_keys_plain_http_tls_below_1_2_and_public_blobs()
    {
        Assert.NotEmpty(ArmTemplateRules.Resources(Template, "Microsoft.Storage/storageAccounts"));
        Assert.Empty(ArmTemplateRules.StorageViolations(Template));

        var sharedKey = Fragment("""{"type":"Microsoft.Storage/storageAccounts","name":"x","properties":{"allowSharedKeyAccess":true,"minimumTlsVersion":"TLS1_2","supportsHttpsTrafficOnly":true,"allowBlobPublicAccess":false}}""");
        Assert.Contains("allowSharedKeyAccess", Assert.Single(ArmTemplateRules.StorageViolations(sharedKey)), StringComparison.Ordinal);
        var unset = Fragment("""{"type":"Microsoft.Storage/storageAccounts","name":"x","properties":{}}""");
        Assert.Equal(4, ArmTemplateRules.StorageViolations(unset).Count);
    }

    [Fact]
    public void Key_vault_is_in_rbac_mode_without_access_policies()
    {
        Assert.NotEmpty(ArmTemplateRules.Resources(Template, "Microsoft.KeyVault/vaults"));
        Assert.Empty(ArmTemplateRules.VaultViolations(Template));

        var policies = Fragment("""{"type":"Microsoft.KeyVault/vaults","name":"x","properties":{"enableRbacAuthorization":false,"accessPolicies":[{"objectId":"o"}]}}""");
        Assert.Equal(2, ArmTemplateRules.VaultViolations(policies).Count);
    }

    [Fact]
    public void No_output_is_or_reads_a_secret()
    {
        Assert.NotEmpty(Template["outputs"]!.AsObject());
        Assert.Empty(ArmTemplateRules.OutputViolations(Template));

        var leaky = JsonNode.Parse("""
            {"parameters":{"metaAppSecret":{"type":"securestring"}},"resources":[],"outputs":{
              "storageKey":{"type":"string","value":"[listKeys(resourceId('Microsoft.Storage/storageAccounts','s'),'2025-06-01').keys[0].value]"},
              "insights":{"type":"string","value":"[reference(resourceId('Microsoft.Insights/components','a')).ConnectionString]"},
              "echo":{"type":"string","value":"[parameters('metaAppSecret')]"},
              "apiBaseUrl":{"type":"string","value":"https://x/api"}}}
            """)!.AsObject();
        Assert.Equal(["output storageKey", "output insights", "output echo"], ArmTemplateRules.OutputViolations(leaky).Select(v => v[..v.IndexOf(':', StringComparison.Ordinal)]));
    }

    [Fact]
    public void Nothing_reads_a_key_out_with_a_list_function()
    {
        Assert.Empty(ArmTemplateRules.ListFunctionViolations(Template));

        var listKeys = Fragment("""{"type":"Microsoft.Web/sites/config","name":"a/appsettings","properties":{"S":"[listKeys(resourceId('Microsoft.Storage/storageAccounts','s'),'2025-06-01').keys[0].value]"}}""");
        Assert.Single(ArmTemplateRules.ListFunctionViolations(listKeys));
    }

    [Fact]
    public void Every_app_setting_named_like_a_secret_is_a_key_vault_reference_and_none_carries_a_secure_parameter()
    {
        var settings = ArmTemplateRules.AppSettings(Template).ToDictionary(s => s.Name, s => s.Value, StringComparer.Ordinal);
        Assert.Empty(ArmTemplateRules.AppSettingViolations(Template));
        Assert.StartsWith("[format('@Microsoft.KeyVault(SecretUri=", settings["WhatsApp__AppSecret"], StringComparison.Ordinal);
        Assert.StartsWith("[format('@Microsoft.KeyVault(SecretUri=", settings["WhatsApp__VerifyToken"], StringComparison.Ordinal);

        var plain = JsonNode.Parse("""
            {"parameters":{"metaAppSecret":{"type":"securestring"}},"resources":[
              {"type":"Microsoft.Web/sites/config","name":"[format('{0}/{1}', 'app', 'appsettings')]","properties":{
                "WhatsApp__AppSecret":"hunter2",
                "Some__Value":"[parameters('metaAppSecret')]",
                "Partner__ApiKey":"abc",
                "STORAGE_CONNECTION_STRING":"DefaultEndpointsProtocol=https;AccountKey=abc",
                "WhatsApp__VerifyToken":"@Microsoft.KeyVault(SecretUri=https://v.vault.azure.net/secrets/t/)",
                "KeyVault__Uri":"https://v.vault.azure.net/"}}]}
            """)!.AsObject();
        Assert.Equal(["WhatsApp__AppSecret", "Some__Value", "Partner__ApiKey", "STORAGE_CONNECTION_STRING"],
            ArmTemplateRules.AppSettingViolations(plain).Select(v => v[..v.IndexOf(' ', StringComparison.Ordinal)]));
    }

    [Fact]
    public void Each_role_assignment_is_on_one_resource_with_an_allowed_role()
    {
        Assert.Empty(ArmTemplateRules.RoleAssignmentViolations(Template));

        var broad = JsonNode.Parse("""
            {"resources":[
              {"type":"Microsoft.Authorization/roleAssignments","name":"resource-group","properties":{"roleDefinitionId":"[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3')]"}},
              {"type":"Microsoft.Authorization/roleAssignments","name":"subscription","scope":"[subscription().id]","properties":{"roleDefinitionId":"[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3')]"}},
              {"type":"Microsoft.Authorization/roleAssignments","name":"owner","scope":"[resourceId('Microsoft.Storage/storageAccounts', 's')]","properties":{"roleDefinitionId":"[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '8e3af657-a8ff-443c-a75c-2fe8c4bcb635')]"}},
              {"type":"Microsoft.Authorization/roleAssignments","name":"vault-role-on-storage","scope":"[resourceId('Microsoft.Storage/storageAccounts', 's')]","properties":{"roleDefinitionId":"[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7')]"}},
              {"type":"Microsoft.Authorization/roleAssignments","name":"fine","scope":"[resourceId('Microsoft.Storage/storageAccounts', 's')]","properties":{"roleDefinitionId":"[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3')]"}}]}
            """)!.AsObject();
        Assert.Equal(["resource-group", "subscription", "owner", "vault-role-on-storage"],
            ArmTemplateRules.RoleAssignmentViolations(broad).Select(v => v[..v.IndexOf(':', StringComparison.Ordinal)]));
    }

    [Fact]
    public void The_identity_holds_exactly_the_five_roles_the_app_needs_each_for_the_identity()
    {
        Assert.Equal(
            [
                "Key Vault Secrets Officer on Microsoft.KeyVault/vaults",
                "Monitoring Metrics Publisher on Microsoft.Insights/components",
                "Storage Blob Data Owner on Microsoft.Storage/storageAccounts",
                "Storage Queue Data Contributor on Microsoft.Storage/storageAccounts",
                "Storage Table Data Contributor on Microsoft.Storage/storageAccounts",
            ],
            ArmTemplateRules.RoleSet(Template));
        Assert.All(ArmTemplateRules.Resources(Template, "Microsoft.Authorization/roleAssignments"), a =>
        {
            Assert.Contains("Microsoft.ManagedIdentity/userAssignedIdentities", (string?)a["properties"]!["principalId"], StringComparison.Ordinal);
            Assert.Equal("ServicePrincipal", (string?)a["properties"]!["principalType"]);
        });
    }

    [Fact]
    public void The_app_reaches_storage_and_key_vault_as_its_user_assigned_identity_with_no_connection_string()
    {
        var settings = ArmTemplateRules.AppSettings(Template).ToDictionary(s => s.Name, s => s.Value, StringComparer.Ordinal);

        Assert.Equal("managedidentity", settings["AzureWebJobsStorage__credential"]);
        Assert.Equal("[variables('storageAccountName')]", settings["AzureWebJobsStorage__accountName"]);
        Assert.Matches(@"^\[reference\(resourceId\('Microsoft\.ManagedIdentity/userAssignedIdentities', .*\)\.clientId\]$", settings["AzureWebJobsStorage__clientId"]);
        Assert.Equal(settings["AzureWebJobsStorage__clientId"], settings["AZURE_CLIENT_ID"]);
        Assert.Contains(".vaultUri", settings["KeyVault__Uri"], StringComparison.Ordinal);
        Assert.Equal("Production", settings["AZURE_FUNCTIONS_ENVIRONMENT"]);
        Assert.Equal("Production", settings["DOTNET_ENVIRONMENT"]);
        Assert.Contains("ConnectionString", settings["APPLICATIONINSIGHTS_CONNECTION_STRING"], StringComparison.Ordinal);
        Assert.Contains("Authorization=AAD", settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"], StringComparison.Ordinal);

        // A connection string would need the shared key; Flex Consumption takes the runtime from functionAppConfig.
        Assert.DoesNotContain("AzureWebJobsStorage", settings.Keys);
        Assert.DoesNotContain("FUNCTIONS_WORKER_RUNTIME", settings.Keys);
        Assert.DoesNotContain("FUNCTIONS_EXTENSION_VERSION", settings.Keys);
        Assert.DoesNotContain("WEBSITE_RUN_FROM_PACKAGE", settings.Keys);
    }

    [Fact]
    public void Every_queue_name_and_schedule_the_triggers_read_is_set_as_the_app_defaults_it()
    {
        var settings = ArmTemplateRules.AppSettings(Template).ToDictionary(s => s.Name, s => s.Value, StringComparer.Ordinal);

        foreach (var (name, value) in MessagingNames.TriggerDefaults(prefix: ""))
        {
            Assert.True(settings.TryGetValue(name, out var set), $"{name} is not set (the Functions host resolves %{name}% from the app settings)");
            Assert.Equal(value, set);
        }
    }

    [Fact]
    public void Every_readme_configuration_key_is_set_or_deliberately_left_to_its_default()
    {
        var set = ArmTemplateRules.AppSettings(Template).Select(s => s.Name).ToList();
        var leftToDefault = Template["variables"]!["settingsLeftToDefault"]!.AsArray().Select(k => (string)k!).ToList();
        var readme = ReadmeConfigurationKeys();
        Assert.Contains("WhatsApp__AppSecret", readme);

        Assert.Empty(Uncovered(readme, set, leftToDefault));
        Assert.Empty(leftToDefault.Intersect(set, StringComparer.Ordinal));
        Assert.Empty(leftToDefault.Except(readme, StringComparer.Ordinal));

        Assert.Equal(["Webhooks__Timeout"], Uncovered(["AzureWebJobsStorage", "Webhooks__Timeout", "port"], ["AzureWebJobsStorage__accountName"], ["port"]));
    }

    [Fact]
    public void Every_table_and_queue_named_in_core_is_declared_except_the_local_secret_store()
    {
        var variables = Template["variables"]!;
        var declared = variables["tableNames"]!.AsArray().Concat(variables["queueNames"]!.AsArray()).Select(n => (string)n!).ToHashSet(StringComparer.Ordinal);
        var named = StorageNamesInCore();
        Assert.Contains("messages", named);
        Assert.Contains("webhookdeliveries", named);

        Assert.Empty(named.Except(declared, StringComparer.Ordinal).Except(["secrets"], StringComparer.Ordinal));
        Assert.Contains(MessagingNames.SendsQueue + "-poison", declared);
    }

    private static JsonObject Fragment(string resource) =>
        new() { ["resources"] = new JsonArray(JsonNode.Parse(resource)) };

    /// <summary>A README key is covered by a setting of that name, or of that name plus "__…", or by the left list.</summary>
    private static List<string> Uncovered(IEnumerable<string> readme, IReadOnlyCollection<string> set, IReadOnlyCollection<string> leftToDefault) =>
        readme.Where(key => !leftToDefault.Contains(key, StringComparer.Ordinal)
                && !set.Any(s => s == key || s.StartsWith(key + "__", StringComparison.Ordinal)))
            .ToList();

    /// <summary>The backticked keys in the first column of the README's Configuration table (not flags or suffixes).</summary>
    private static List<string> ReadmeConfigurationKeys()
    {
        var lines = File.ReadAllLines(Path.Combine(RepositoryRoot.Path, "README.md"));
        var start = Array.IndexOf(lines, "## Configuration");
        Assert.True(start >= 0, "README.md has no '## Configuration' section");
        var section = lines.Skip(start + 1).TakeWhile(l => !l.StartsWith("## ", StringComparison.Ordinal));
        return section.Where(l => l.StartsWith('|') && !l.StartsWith("| key", StringComparison.Ordinal) && !l.StartsWith("|--", StringComparison.Ordinal))
            .SelectMany(l => Backticked().Matches(l.Split('|')[1]).Select(m => m.Groups[1].Value))
            .Where(k => !k.StartsWith("--", StringComparison.Ordinal) && !k.StartsWith("__", StringComparison.Ordinal))
            .Distinct(StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>The logical table and queue names Core declares: its *Names/*Tables classes and its Table/Queue constants.</summary>
    private static HashSet<string> StorageNamesInCore()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(Path.Combine(RepositoryRoot.Path, "src", "Aisoule.Core"), "*.cs", SearchOption.AllDirectories))
        {
            var nameClass = Path.GetFileNameWithoutExtension(file) is var type && (type.EndsWith("Names", StringComparison.Ordinal) || type.EndsWith("Tables", StringComparison.Ordinal));
            foreach (Match constant in StringConstant().Matches(File.ReadAllText(file)))
            {
                var (field, value) = (constant.Groups[1].Value, constant.Groups[2].Value);
                var isName = nameClass
                    ? !field.EndsWith("Setting", StringComparison.Ordinal) && !field.StartsWith("Default", StringComparison.Ordinal)
                    : field.EndsWith("Table", StringComparison.Ordinal) || field.EndsWith("Queue", StringComparison.Ordinal);
                if (isName)
                {
                    names.Add(value);
                }
            }
        }

        return names;
    }

    [GeneratedRegex("`([^`]+)`")]
    private static partial Regex Backticked();

    [GeneratedRegex("""const string (\w+) = "([a-z0-9-]+)";""")]
    private static partial Regex StringConstant();
}

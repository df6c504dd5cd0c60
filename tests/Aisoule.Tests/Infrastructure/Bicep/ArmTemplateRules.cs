using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Aisoule.Tests.Infrastructure.Bicep;

/// <summary>
/// The rules a compiled ARM template of ours must keep, each returning what breaks it (empty: kept). They read the
/// template as Bicep compiles it (resources as a list, expressions as "[…]" strings), so the tests can hand them
/// the real template or a small broken fragment.
/// </summary>
internal static partial class ArmTemplateRules
{
    /// <summary>Built-in role ids (the same in every subscription) and what the identity may hold them on.</summary>
    public static readonly IReadOnlyDictionary<string, (string Name, string ScopeType)> AllowedRoles = new Dictionary<string, (string, string)>(StringComparer.OrdinalIgnoreCase)
    {
        ["0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"] = ("Storage Table Data Contributor", "Microsoft.Storage/storageAccounts"),
        ["974c5e8b-45b9-4653-ba55-5f855dd0fb88"] = ("Storage Queue Data Contributor", "Microsoft.Storage/storageAccounts"),
        ["b7e6dc6d-f1e8-4753-8033-0f276bb0955b"] = ("Storage Blob Data Owner", "Microsoft.Storage/storageAccounts"),
        ["b86a8fe4-44ce-4948-aee5-eccb2c155cd7"] = ("Key Vault Secrets Officer", "Microsoft.KeyVault/vaults"),
        ["3913510d-42f4-4e42-8a64-420c390055eb"] = ("Monitoring Metrics Publisher", "Microsoft.Insights/components"),
    };

    /// <summary>
    /// Settings whose name reads like a secret but whose value is not one. The Application Insights connection
    /// string is an identifier and an ingestion address (Microsoft documents it as not secret), and with local
    /// authentication disabled it admits nothing without an Entra token.
    /// </summary>
    private static readonly HashSet<string> NotSecretSettings = new(StringComparer.Ordinal) { "APPLICATIONINSIGHTS_CONNECTION_STRING" };

    public static IEnumerable<JsonObject> Resources(JsonObject template, string type) =>
        template["resources"]!.AsArray().Select(r => r!.AsObject())
            .Where(r => string.Equals((string?)r["type"], type, StringComparison.OrdinalIgnoreCase));

    /// <summary>Every app setting: the sites' siteConfig.appSettings lists and the sites/config "appsettings" objects.</summary>
    public static IReadOnlyList<(string Name, string? Value)> AppSettings(JsonObject template)
    {
        var settings = new List<(string, string?)>();
        foreach (var site in Resources(template, "Microsoft.Web/sites"))
        {
            if (site["properties"]?["siteConfig"]?["appSettings"] is JsonArray list)
            {
                settings.AddRange(list.Select(s => ((string)s!["name"]!, ValueText(s["value"]))));
            }
        }

        foreach (var config in Resources(template, "Microsoft.Web/sites/config").Where(c => ((string)c["name"]!).EndsWith("'appsettings')]", StringComparison.Ordinal) || ((string)c["name"]!).EndsWith("/appsettings", StringComparison.Ordinal)))
        {
            settings.AddRange(config["properties"]!.AsObject().Select(p => (p.Key, ValueText(p.Value))));
        }

        return settings;
    }

    public static List<string> SiteViolations(JsonObject template)
    {
        var found = new List<string>();
        foreach (var site in Resources(template, "Microsoft.Web/sites"))
        {
            var properties = site["properties"];
            Expect(found, site, properties?["httpsOnly"], true, "httpsOnly");
            Expect(found, site, properties?["siteConfig"]?["minTlsVersion"], "1.2", "siteConfig.minTlsVersion");
            Expect(found, site, properties?["siteConfig"]?["scmMinTlsVersion"], "1.2", "siteConfig.scmMinTlsVersion");
            Expect(found, site, properties?["siteConfig"]?["ftpsState"], "Disabled", "siteConfig.ftpsState");
        }

        return found;
    }

    public static List<string> StorageViolations(JsonObject template)
    {
        var found = new List<string>();
        foreach (var account in Resources(template, "Microsoft.Storage/storageAccounts"))
        {
            var properties = account["properties"];
            Expect(found, account, properties?["allowSharedKeyAccess"], false, "allowSharedKeyAccess");
            Expect(found, account, properties?["minimumTlsVersion"], "TLS1_2", "minimumTlsVersion");
            Expect(found, account, properties?["supportsHttpsTrafficOnly"], true, "supportsHttpsTrafficOnly");
            Expect(found, account, properties?["allowBlobPublicAccess"], false, "allowBlobPublicAccess");
        }

        return found;
    }

    public static List<string> VaultViolations(JsonObject template)
    {
        var found = new List<string>();
        foreach (var vault in Resources(template, "Microsoft.KeyVault/vaults"))
        {
            Expect(found, vault, vault["properties"]?["enableRbacAuthorization"], true, "enableRbacAuthorization");
            if (vault["properties"]?["accessPolicies"] is JsonArray { Count: > 0 })
            {
                found.Add($"{vault["name"]}: access policies beside RBAC");
            }
        }

        return found;
    }

    /// <summary>No output that is, or is named like, a secret, and none that reads a secure parameter.</summary>
    public static List<string> OutputViolations(JsonObject template)
    {
        var secure = SecureParameters(template);
        var found = new List<string>();
        foreach (var (name, output) in template["outputs"]?.AsObject() ?? [])
        {
            var value = output!["value"]?.ToJsonString() ?? "";
            var type = (string?)output["type"] ?? "";
            if (SecretName().IsMatch(name) || SecretValue().IsMatch(value) || type.StartsWith("secure", StringComparison.OrdinalIgnoreCase)
                || secure.Any(p => value.Contains($"parameters('{p}')", StringComparison.Ordinal)))
            {
                found.Add($"output {name}: {value}");
            }
        }

        return found;
    }

    /// <summary>No list* function (listKeys, listSecrets, listAccountSas…) anywhere: nothing reads a key out.</summary>
    public static List<string> ListFunctionViolations(JsonObject template) =>
        ListCall().Matches(template.ToJsonString()).Select(m => m.Value).ToList();

    /// <summary>A setting named like a secret must be a Key Vault reference; no setting may carry a secure parameter.</summary>
    public static List<string> AppSettingViolations(JsonObject template)
    {
        var secure = SecureParameters(template);
        var found = new List<string>();
        foreach (var (name, value) in AppSettings(template))
        {
            var text = value ?? "";
            if (secure.Any(p => text.Contains($"parameters('{p}')", StringComparison.Ordinal)))
            {
                found.Add($"{name} carries a secure parameter: {text}");
            }
            else if (LooksSecret(name) && !NotSecretSettings.Contains(name) && !IsKeyVaultReference(text))
            {
                found.Add($"{name} is not a Key Vault reference: {text}");
            }
        }

        return found;
    }

    /// <summary>Each role assignment is on one resource of the type its role is for, with a role from the allowed list.</summary>
    public static List<string> RoleAssignmentViolations(JsonObject template)
    {
        var found = new List<string>();
        foreach (var assignment in Resources(template, "Microsoft.Authorization/roleAssignments"))
        {
            var (roleId, scopeType) = RoleAndScope(assignment);
            if (scopeType is null)
            {
                found.Add($"{assignment["name"]}: scope {assignment["scope"] ?? "(none: the resource group)"} is not one resource");
            }
            else if (roleId is null || !AllowedRoles.TryGetValue(roleId, out var allowed))
            {
                found.Add($"{assignment["name"]}: role {assignment["properties"]?["roleDefinitionId"]} is not an allowed one");
            }
            else if (!string.Equals(allowed.ScopeType, scopeType, StringComparison.OrdinalIgnoreCase))
            {
                found.Add($"{assignment["name"]}: {allowed.Name} on a {scopeType}, not a {allowed.ScopeType}");
            }
        }

        return found;
    }

    /// <summary>"Role name on resource type" for each role assignment whose role is a known one.</summary>
    public static List<string> RoleSet(JsonObject template) =>
        Resources(template, "Microsoft.Authorization/roleAssignments").Select(RoleAndScope)
            .Select(r => $"{(r.RoleId is not null && AllowedRoles.TryGetValue(r.RoleId, out var role) ? role.Name : r.RoleId)} on {r.ScopeType}")
            .Order(StringComparer.Ordinal)
            .ToList();

    private static (string? RoleId, string? ScopeType) RoleAndScope(JsonObject assignment)
    {
        var scope = (string?)assignment["scope"];
        var scopeType = scope is null ? null : SingleResourceScope().Match(scope) is { Success: true } m ? m.Groups[1].Value : null;
        var role = RoleDefinition().Match((string?)assignment["properties"]?["roleDefinitionId"] ?? "");
        return (role.Success ? role.Groups[1].Value : null, scopeType);
    }

    private static bool LooksSecret(string settingName) =>
        settingName.Split("__").Any(segment => SecretSuffix().IsMatch(segment.Replace("_", "", StringComparison.Ordinal)));

    private static bool IsKeyVaultReference(string value) =>
        value.StartsWith("@Microsoft.KeyVault(", StringComparison.Ordinal) || value.StartsWith("[format('@Microsoft.KeyVault(", StringComparison.Ordinal);

    private static List<string> SecureParameters(JsonObject template) =>
        (template["parameters"]?.AsObject() ?? [])
            .Where(p => ((string?)p.Value!["type"] ?? "").StartsWith("secure", StringComparison.OrdinalIgnoreCase))
            .Select(p => p.Key)
            .ToList();

    private static string? ValueText(JsonNode? value) => value is JsonValue v && v.TryGetValue<string>(out var s) ? s : value?.ToJsonString();

    private static void Expect(List<string> found, JsonObject resource, JsonNode? actual, object expected, string property)
    {
        var ok = expected switch
        {
            bool b => actual is JsonValue v && v.TryGetValue<bool>(out var a) && a == b,
            string s => actual is JsonValue v && v.TryGetValue<string>(out var a) && a == s,
            _ => false,
        };
        if (!ok)
        {
            found.Add($"{resource["type"]} {resource["name"]}: {property} is {actual?.ToJsonString() ?? "unset"}, not {expected}");
        }
    }

    [GeneratedRegex("listkeys|secret|connectionstring|password|key|token", RegexOptions.IgnoreCase)]
    private static partial Regex SecretName();

    // Not plain "key": every vault id reads Microsoft.KeyVault.
    [GeneratedRegex("listkeys|listsecrets|secret|connectionstring|instrumentationkey|accountkey|primarykey|secondarykey|password|token", RegexOptions.IgnoreCase)]
    private static partial Regex SecretValue();

    [GeneratedRegex(@"\blist[A-Za-z]*\(", RegexOptions.IgnoreCase)]
    private static partial Regex ListCall();

    [GeneratedRegex("(secret|token|password|key|connectionstring)$", RegexOptions.IgnoreCase)]
    private static partial Regex SecretSuffix();

    // One resource of this deployment: [resourceId('Type', …)] with nothing after it (no .parent, no other function).
    [GeneratedRegex(@"^\[resourceId\('([A-Za-z.]+/[A-Za-z]+)', [^\[\]]*\)\]$")]
    private static partial Regex SingleResourceScope();

    [GeneratedRegex(@"^\[subscriptionResourceId\('Microsoft\.Authorization/roleDefinitions', '([0-9a-fA-F-]{36})'\)\]$")]
    private static partial Regex RoleDefinition();
}

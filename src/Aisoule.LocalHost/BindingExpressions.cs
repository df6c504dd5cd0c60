using System.Text.RegularExpressions;

namespace Aisoule.LocalHost;

/// <summary>Resolves <c>%Setting%</c> in trigger attributes from configuration, as the Functions host does.</summary>
internal static partial class BindingExpressions
{
    public static string Resolve(string expression, IConfiguration configuration) =>
        Setting().Replace(expression, match =>
            configuration[match.Groups[1].Value.Replace("__", ":", StringComparison.Ordinal)]
            ?? throw new InvalidOperationException($"'{match.Value}' does not resolve to a value: set {match.Groups[1].Value}."));

    /// <summary>
    /// The app setting <c>AzureWebJobs.{name}.Disabled</c> = true: as the Functions host, the local host starts no
    /// queue or timer trigger for that function (HTTP functions are always served here).
    /// </summary>
    public static bool IsDisabled(string functionName, IConfiguration configuration) =>
        bool.TryParse(configuration[$"AzureWebJobs.{functionName}.Disabled"], out var disabled) && disabled;

    [GeneratedRegex("%([^%]+)%")]
    private static partial Regex Setting();
}

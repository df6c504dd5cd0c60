namespace Aisoule.Core.WhatsApp;

/// <summary>
/// An app setting written as a Key Vault reference that App Service could not resolve keeps the reference text itself
/// (<c>@Microsoft.KeyVault(SecretUri=…)</c>): guessable, never a secret. Such a value counts as unset.
/// </summary>
public static class UnresolvedReference
{
    private const string Prefix = "@Microsoft.KeyVault(";

    public static bool Is(string? value) => value is not null && value.TrimStart().StartsWith(Prefix, StringComparison.OrdinalIgnoreCase);

    /// <summary>The secret, or null when it is unset or an unresolved reference.</summary>
    public static string? SecretOrNull(string? value) => string.IsNullOrEmpty(value) || Is(value) ? null : value;
}

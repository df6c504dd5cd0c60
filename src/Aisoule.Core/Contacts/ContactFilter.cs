namespace Aisoule.Core.Contacts;

/// <summary>List filters; all given ones must match.</summary>
public sealed record ContactFilter(string? Tag = null, string? Stage = null, string? Search = null)
{
    public bool IsEmpty => Tag is null && Stage is null && Search is null;
}

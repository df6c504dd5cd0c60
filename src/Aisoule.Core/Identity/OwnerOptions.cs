namespace Aisoule.Core.Identity;

/// <summary>The first owner, from <c>AISOULE_OWNER_EMAIL</c>, <c>AISOULE_OWNER_PASSWORD</c>, <c>AISOULE_OWNER_WORKSPACE</c>.</summary>
public sealed class OwnerOptions
{
    public string? Email { get; set; }

    public string? Password { get; set; }

    public string Workspace { get; set; } = "Default";
}
